// ADT^A01 / ADT^A08 -> Patient (+ Encounter when PV1-19 names a visit).
//
// The Patient is built from the message alone (the mapper is stateless) and
// written with PUT. HL7 says an empty field leaves the value unchanged and
// `""` deletes it: the mapper reports how each PID field was sent
// (MapResult::patient_presence) and the mapping stage merges the Patient
// onto the last one it sent for that patient (pipeline/patient_merge.h,
// docs/MAPPING.md).
#include <string>

#include "appliance/base/status_macros.h"
#include "appliance/fhir/mapping_context.h"

namespace appliance::fhir::internal {
namespace {

FieldPresence Presence(std::string_view field) {
  if (field.empty()) return FieldPresence::kEmpty;
  return hl7::IsNull(field) ? FieldPresence::kNull : FieldPresence::kValued;
}

// Two fields behind one element group: valued if either is, else deleted if
// either says `""`, else unchanged.
FieldPresence Presence(std::string_view a, std::string_view b) {
  const FieldPresence pa = Presence(a), pb = Presence(b);
  if (pa == FieldPresence::kValued || pb == FieldPresence::kValued) {
    return FieldPresence::kValued;
  }
  if (pa == FieldPresence::kNull || pb == FieldPresence::kNull) {
    return FieldPresence::kNull;
  }
  return FieldPresence::kEmpty;
}

}  // namespace

absl::Status MapAdt(Context& c, std::string_view event) {
  const SegmentRef pid = FindFirst(c.message(), "PID");
  const SegmentRef pv1 = FindFirst(c.message(), "PV1");
  ASSIGN_OR_RETURN(const PatientKey patient, MakePatientKey(c, pid));
  EncounterKey encounter;
  const bool has_encounter = MakeEncounterKey(c, pv1, &encounter);
  PatientFieldPresence& presence = c.result()->patient_presence;
  presence.set = true;
  presence.patient_id = patient.id;
  const hl7::Segment& p = pid.segment;
  presence.name = Presence(p.field(5));
  presence.birth_date = Presence(p.field(7));
  presence.gender = Presence(p.field(8));
  presence.address = Presence(p.field(11));
  presence.telecom = Presence(p.field(13), p.field(14));
  presence.deceased = Presence(p.field(29), p.field(30));
  BeginBundle(c);
  WritePatientEntry(c, pid, patient, /*conditional_create=*/false);
  if (has_encounter) {
    // A01 admits; an A08 of a discharged visit (PV1-45) says finished.
    const bool discharged =
        !pv1.segment.field(45).empty() && !hl7::IsNull(pv1.segment.field(45));
    const char* status = discharged ? "finished" : "in-progress";
    (void)event;
    WriteEncounterEntry(c, pv1, encounter, patient, status,
                        /*conditional_create=*/false);
  }
  EndBundle(c);
  return absl::OkStatus();
}

}  // namespace appliance::fhir::internal
