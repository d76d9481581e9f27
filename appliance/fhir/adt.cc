// ADT^A01 / ADT^A08 -> Patient (+ Encounter when PV1-19 names a visit).
//
// The Patient is rebuilt from the message and written with PUT: A08 sends
// the patient's full current state, so an element absent from the message
// (empty field or the null value "") is absent from the resource. See
// docs/MAPPING.md for why this is a full replacement and not a merge.
#include <string>

#include "appliance/base/status_macros.h"
#include "appliance/fhir/mapping_context.h"

namespace appliance::fhir::internal {

absl::Status MapAdt(Context& c, std::string_view event) {
  const SegmentRef pid = FindFirst(c.message(), "PID");
  const SegmentRef pv1 = FindFirst(c.message(), "PV1");
  ASSIGN_OR_RETURN(const PatientKey patient, MakePatientKey(c, pid));
  EncounterKey encounter;
  const bool has_encounter = MakeEncounterKey(c, pv1, &encounter);
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
