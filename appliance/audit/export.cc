#include "appliance/audit/export.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "appliance/audit/chain.h"
#include "appliance/base/status_macros.h"
#include "appliance/crypto/hash.h"
#include "appliance/fhir/json_writer.h"
#include "appliance/fhir/uuid.h"
#include "appliance/store/keys.h"

namespace appliance::audit {
namespace {

constexpr char kDcm[] = "http://dicom.nema.org/resources/ontology/DCM";
constexpr char kEventTypeSystem[] = "urn:hl7-appliance:audit-event-type";

std::string Rfc3339(int64_t us) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(us),
                          absl::UTCTimeZone());
}

std::string TypeName(pb::AuditEventType t) {
  const std::string& name = pb::AuditEventType_Name(t);
  return name.empty() ? absl::StrCat("AUDIT_EVENT_", static_cast<int>(t)) : name;
}

struct FhirType {
  const char* code;
  const char* display;
  const char* action;
};

FhirType TypeOf(pb::AuditEventType t) {
  switch (t) {
    case pb::AUDIT_MESSAGE_RECEIVED:
    case pb::AUDIT_MESSAGE_ACKNOWLEDGED:
    case pb::AUDIT_MESSAGE_REJECTED:
    case pb::AUDIT_MESSAGE_DUPLICATE:
      return {"110107", "Import", "C"};
    case pb::AUDIT_DELIVERY_SUCCEEDED:
    case pb::AUDIT_DELIVERY_FAILED:
      return {"110106", "Export", "E"};
    case pb::AUDIT_PHI_READ:
      return {"110110", "Patient Record", "R"};
    case pb::AUDIT_TLS_REFUSED:
    case pb::AUDIT_ACCESS_REFUSED:
      return {"110113", "Security Alert", "E"};
    case pb::AUDIT_MESSAGE_MAPPED:
    case pb::AUDIT_MESSAGE_HELD:
    case pb::AUDIT_MESSAGE_REQUEUED:
    case pb::AUDIT_MESSAGE_DEAD_LETTERED:
    case pb::AUDIT_MESSAGE_RETRIED:
      return {"110100", "Application Activity", "U"};
    case pb::AUDIT_MESSAGE_DISCARDED:
      return {"110100", "Application Activity", "D"};
    default:
      return {"110100", "Application Activity", "E"};
  }
}

// Actors that are the appliance's own stages, not a person or a peer.
bool IsInternalActor(const std::string& actor) {
  return actor.empty() || actor == "mapper" || actor == "delivery" ||
         actor == "retention" || actor == "config" || actor == "hl7d";
}

bool Matches(const pb::AuditRecord& r, const ExportFilter& f) {
  return r.time_us() >= f.from_us && r.time_us() < f.to_us &&
         (f.type == pb::AUDIT_EVENT_UNSPECIFIED || r.type() == f.type) &&
         (f.message_seq == 0 || r.message_seq() == f.message_seq);
}

}  // namespace

std::string RecordJson(const pb::AuditRecord& r) {
  std::string out;
  fhir::JsonWriter w(&out);
  w.BeginObject();
  w.Key("seq");
  w.Int(static_cast<int64_t>(r.seq()));
  w.Member("time", Rfc3339(r.time_us()));
  w.Member("type", TypeName(r.type()));
  w.Key("outcome");
  w.Int(r.outcome());
  w.Member("actor", r.actor());
  if (r.message_seq() != 0) {
    w.Key("message_seq");
    w.Int(static_cast<int64_t>(r.message_seq()));
  }
  w.OptionalMember("control_id", r.control_id());
  if (!r.message_sha256().empty()) {
    w.Member("message_sha256", crypto::ToHex(r.message_sha256()));
  }
  w.Member("detail", r.detail());
  w.Member("prev_hash", crypto::ToHex(r.prev_hash()));
  w.Member("hash", crypto::ToHex(r.hash()));
  w.EndObject();
  return out;
}

namespace {

// {"system":..,"code":..[,"display":..]}
void Coding(fhir::JsonWriter& w, std::string_view system, std::string_view code,
            std::string_view display) {
  w.BeginObject();
  w.Member("system", system);
  w.Member("code", code);
  w.OptionalMember("display", display);
  w.EndObject();
}

// {"type":..,"valueString":..}, an AuditEvent entity detail.
void Detail(fhir::JsonWriter& w, std::string_view type, std::string_view value) {
  w.BeginObject();
  w.Member("type", type);
  w.Member("valueString", value);
  w.EndObject();
}

// An entity: {"what":{"identifier":{system,value}},"type":{..}} and, when
// `details` writes any, "detail":[..].
template <typename Details>
void Entity(fhir::JsonWriter& w, std::string_view id_system,
            std::string_view id_value, std::string_view type_code,
            std::string_view type_display, bool has_details,
            const Details& details) {
  w.BeginObject();
  w.ObjectMember("what");
  w.ObjectMember("identifier");
  w.Member("system", id_system);
  w.Member("value", id_value);
  w.EndObject();
  w.EndObject();
  w.Key("type");
  Coding(w, "http://terminology.hl7.org/CodeSystem/audit-entity-type",
         type_code, type_display);
  if (has_details) {
    w.ArrayMember("detail");
    details();
    w.EndArray();
  }
  w.EndObject();
}

}  // namespace

std::string RecordAuditEvent(const pb::AuditRecord& r) {
  const FhirType t = TypeOf(r.type());
  std::string out;
  fhir::JsonWriter w(&out);
  w.BeginObject();
  w.Member("resourceType", "AuditEvent");
  w.Member("id", fhir::FormatUuid(fhir::Uuid5(fhir::kFhirIdNamespace,
                                              {"audit-record", r.hash()})));
  w.Key("type");
  Coding(w, kDcm, t.code, t.display);
  w.ArrayMember("subtype");
  if (r.type() == pb::AUDIT_APPLIANCE_STARTED) {
    Coding(w, kDcm, "110120", "Application Start");
  } else if (r.type() == pb::AUDIT_APPLIANCE_STOPPED) {
    Coding(w, kDcm, "110121", "Application Stop");
  }
  Coding(w, kEventTypeSystem, TypeName(r.type()), "");
  w.EndArray();
  w.Member("action", t.action);
  w.Member("recorded", Rfc3339(r.time_us()));
  w.Member("outcome", std::to_string(static_cast<int>(r.outcome())));
  w.OptionalMember("outcomeDesc", r.detail());
  w.ArrayMember("agent");
  w.BeginObject();
  w.ObjectMember("who");
  w.Member("display", r.actor().empty() ? std::string_view("hl7-appliance")
                                        : std::string_view(r.actor()));
  w.EndObject();
  w.Key("requestor");
  w.Bool(!IsInternalActor(r.actor()));
  w.EndObject();
  w.EndArray();
  w.ObjectMember("source");
  w.Member("site", "hl7-appliance");
  w.ObjectMember("observer");
  w.Member("display", "hl7-appliance");
  w.EndObject();
  w.ArrayMember("type");
  Coding(w, "http://terminology.hl7.org/CodeSystem/security-source-type", "4",
         "Application Server");
  w.EndArray();
  w.EndObject();
  w.ArrayMember("entity");
  if (r.message_seq() != 0) {
    const bool has_details =
        !r.control_id().empty() || !r.message_sha256().empty();
    Entity(w, "urn:hl7-appliance:message-seq", std::to_string(r.message_seq()),
           "2", "System Object", has_details, [&] {
             if (!r.control_id().empty()) Detail(w, "MSH-10", r.control_id());
             if (!r.message_sha256().empty()) {
               Detail(w, "SHA-256", crypto::ToHex(r.message_sha256()));
             }
           });
  }
  // The record's place in the hash chain (the first record links to
  // nothing: FHIR strings must not be empty).
  Entity(w, "urn:hl7-appliance:audit-seq", std::to_string(r.seq()), "4",
         "Other", true, [&] {
           Detail(w, "hash", crypto::ToHex(r.hash()));
           if (!r.prev_hash().empty()) {
             Detail(w, "prev_hash", crypto::ToHex(r.prev_hash()));
           }
         });
  w.EndArray();
  w.EndObject();
  return out;
}

absl::StatusOr<uint64_t> Export(store::Env& env, const ExportFilter& filter,
                                ExportFormat format, std::ostream& out) {
  ASSIGN_OR_RETURN(Trail trail, OpenTrail(env));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env.BeginRead());
  RETURN_IF_ERROR(CheckTrailReadable(txn, trail));
  uint64_t n = 0;
  RETURN_IF_ERROR(ForEachRecord(txn, trail, /*from_seq=*/0,
                                [&](const pb::AuditRecord& r) {
                                  if (!Matches(r, filter)) return true;
                                  out << (format == ExportFormat::kJsonLines
                                              ? RecordJson(r)
                                              : RecordAuditEvent(r))
                                      << "\n";
                                  ++n;
                                  return true;
                                }));
  if (!out) return absl::InternalError("write error");
  return n;
}

}  // namespace appliance::audit
