// Export of the audit trail: JSON lines (the records as stored, hashes in
// hex) or FHIR R4 AuditEvent resources (NDJSON), by time range and type.
//
// AuditEvent mapping (DICOM/IHE audit model, as FHIR R4 AuditEvent asks):
//   type     DCM 110107 Import (message received/acknowledged/rejected/
//            duplicate), 110106 Export (delivery attempts), 110110 Patient
//            Record (PHI read through the control plane), 110113 Security
//            Alert (TLS or access refused), 110100 Application Activity
//            (everything else: start/stop, mapping, operator actions,
//            configuration, terminology, keys, retention);
//   subtype  the appliance's event type (urn:hl7-appliance:audit-event-type)
//            and, for start/stop, DCM 110120/110121;
//   action   C for received messages, R for PHI reads, U for state changes
//            of a message, D for discards, E otherwise;
//   outcome  0 / 4 / 8 as recorded; recorded = the record's time (UTC);
//   agent    the actor (peer address, TLS identity, operator name or the
//            appliance's own stage), requestor when a person or peer acted;
//   source   the appliance; entity: the message (sequence number, MSH-10,
//            SHA-256 of the raw bytes) and the record's own hash chain link.
// The id is a UUIDv5 of the record's hash, so exporting twice gives the same
// resources. Records hold no PHI, and neither does the export.
#ifndef APPLIANCE_AUDIT_EXPORT_H_
#define APPLIANCE_AUDIT_EXPORT_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "api/store/v1/records.pb.h"
#include "appliance/store/lmdb_env.h"

namespace appliance::audit {

namespace pb = ::hl7appliance::store::v1;

enum class ExportFormat { kJsonLines, kFhirAuditEvent };

struct ExportFilter {
  int64_t from_us = 0;                                   // Inclusive.
  int64_t to_us = std::numeric_limits<int64_t>::max();   // Exclusive.
  pb::AuditEventType type = pb::AUDIT_EVENT_UNSPECIFIED;  // Any.
  uint64_t message_seq = 0;                              // Any.
};

// One record as a JSON object (one line, no newline).
std::string RecordJson(const pb::AuditRecord& record);
// One record as a FHIR R4 AuditEvent (one line, no newline).
std::string RecordAuditEvent(const pb::AuditRecord& record);

// Writes every record of `env`'s audit trail (TrailReader) matching
// `filter`, one per line; returns how many.
absl::StatusOr<uint64_t> Export(store::Env& env, const ExportFilter& filter,
                                ExportFormat format, std::ostream& out);

}  // namespace appliance::audit

#endif  // APPLIANCE_AUDIT_EXPORT_H_
