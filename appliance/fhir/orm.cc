// ORM^O01 -> ServiceRequest per ORC/OBR (+ Patient, Encounter, Specimen when
// an SPM or OBR-15 names one). See docs/MAPPING.md.
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/fhir/mapping_context.h"

namespace appliance::fhir::internal {
namespace {

struct OrmOrder {
  SegmentRef orc;
  SegmentRef obr;
  std::vector<SegmentRef> notes;
  std::vector<SegmentRef> specimens;
};

// ORC-1 order control (and ORC-5 order status) -> ServiceRequest.status.
const char* OrderStatus(std::string_view control, std::string_view status) {
  if (control == "CA" || control == "OC" || control == "CR" ||
      control == "DC" || control == "OD" || control == "DR") {
    return "revoked";
  }
  if (control == "HD" || control == "OH") return "on-hold";
  if (status == "CM") return "completed";
  if (status == "CA" || status == "DC") return "revoked";
  if (status == "HD") return "on-hold";
  return "active";
}

}  // namespace

absl::Status MapOrm(Context& c) {
  const hl7::Message& m = c.message();
  SegmentRef pid;
  SegmentRef pv1;
  std::vector<OrmOrder> orders;
  absl::flat_hash_map<std::string, int> counts;
  SegmentRef pending_orc;
  for (size_t i = 1; i < m.segment_count(); ++i) {
    const hl7::Segment s = m.segment(i);
    const std::string_view name = s.name();
    const SegmentRef ref{s,
                         ++counts[absl::string_view(name.data(), name.size())]};
    if (name == "PID" && !pid.present()) {
      pid = ref;
    } else if (name == "PV1" && !pv1.present()) {
      pv1 = ref;
    } else if (name == "ORC") {
      pending_orc = ref;
    } else if (name == "OBR") {
      orders.push_back(OrmOrder{pending_orc, ref, {}, {}});
      pending_orc = SegmentRef();
    } else if (name == "NTE" && !orders.empty()) {
      orders.back().notes.push_back(ref);
    } else if (name == "SPM" && !orders.empty()) {
      orders.back().specimens.push_back(ref);
    }
  }
  ASSIGN_OR_RETURN(const PatientKey patient, MakePatientKey(c, pid));
  EncounterKey encounter;
  const bool has_encounter = MakeEncounterKey(c, pv1, &encounter);
  if (orders.empty()) {
    c.AddFinding(FindingSeverity::kError, Loc("OBR", 1, 0), "missing-order",
                 "ORM without an OBR: no order to map");
  }
  BeginBundle(c);
  WritePatientEntry(c, pid, patient, /*conditional_create=*/true);
  if (has_encounter) {
    WriteEncounterEntry(c, pv1, encounter, patient, "unknown",
                        /*conditional_create=*/true);
  }
  for (const OrmOrder& o : orders) {
    const OrderKey key = MakeOrderKey(c, o.orc, o.obr);
    const std::string sr_id = c.Id("ServiceRequest", key.key);
    std::vector<std::string> specimen_ids;
    for (const SegmentRef& spm : o.specimens) {
      specimen_ids.push_back(SpecimenId(c, &spm, key));
    }
    const bool obr_specimen =
        o.specimens.empty() && !o.obr.segment.field(15).empty();
    if (obr_specimen) specimen_ids.push_back(SpecimenId(c, nullptr, key));
    const std::string_view control =
        o.orc.present() ? o.orc.segment.field(1) : std::string_view();
    const std::string_view order_status =
        o.orc.present() ? o.orc.segment.field(5) : std::string_view();
    WriteServiceRequestEntry(c, o.orc, o.obr, key, sr_id, patient,
                             has_encounter ? &encounter : nullptr,
                             OrderStatus(control, order_status), o.notes,
                             specimen_ids);
    for (size_t k = 0; k < o.specimens.size(); ++k) {
      WriteSpecimenEntry(c, &o.specimens[k], o.obr, specimen_ids[k], patient,
                         sr_id);
    }
    if (obr_specimen) {
      WriteSpecimenEntry(c, nullptr, o.obr, specimen_ids[0], patient, sr_id);
    }
  }
  EndBundle(c);
  return absl::OkStatus();
}

}  // namespace appliance::fhir::internal
