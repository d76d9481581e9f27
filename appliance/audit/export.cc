#include "appliance/audit/export.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "appliance/audit/chain.h"
#include "appliance/base/status_macros.h"
#include "appliance/crypto/hash.h"
#include "appliance/fhir/uuid.h"
#include "appliance/store/keys.h"

namespace appliance::audit {
namespace {

using ordered_json = nlohmann::ordered_json;

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
  ordered_json j;
  j["seq"] = r.seq();
  j["time"] = Rfc3339(r.time_us());
  j["type"] = TypeName(r.type());
  j["outcome"] = static_cast<int>(r.outcome());
  j["actor"] = r.actor();
  if (r.message_seq() != 0) j["message_seq"] = r.message_seq();
  if (!r.control_id().empty()) j["control_id"] = r.control_id();
  if (!r.message_sha256().empty()) j["message_sha256"] = crypto::ToHex(r.message_sha256());
  j["detail"] = r.detail();
  j["prev_hash"] = crypto::ToHex(r.prev_hash());
  j["hash"] = crypto::ToHex(r.hash());
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string RecordAuditEvent(const pb::AuditRecord& r) {
  const FhirType t = TypeOf(r.type());
  ordered_json e;
  e["resourceType"] = "AuditEvent";
  e["id"] = fhir::FormatUuid(fhir::Uuid5(fhir::kFhirIdNamespace,
                                         {"audit-record", r.hash()}));
  e["type"] = {{"system", kDcm}, {"code", t.code}, {"display", t.display}};
  ordered_json subtype = ordered_json::array();
  if (r.type() == pb::AUDIT_APPLIANCE_STARTED) {
    subtype.push_back({{"system", kDcm}, {"code", "110120"}, {"display", "Application Start"}});
  } else if (r.type() == pb::AUDIT_APPLIANCE_STOPPED) {
    subtype.push_back({{"system", kDcm}, {"code", "110121"}, {"display", "Application Stop"}});
  }
  subtype.push_back({{"system", kEventTypeSystem}, {"code", TypeName(r.type())}});
  e["subtype"] = subtype;
  e["action"] = t.action;
  e["recorded"] = Rfc3339(r.time_us());
  e["outcome"] = std::to_string(static_cast<int>(r.outcome()));
  if (!r.detail().empty()) e["outcomeDesc"] = r.detail();
  const std::string actor = r.actor().empty() ? std::string("hl7-appliance") : r.actor();
  e["agent"] = ordered_json::array(
      {{{"who", {{"display", actor}}}, {"requestor", !IsInternalActor(r.actor())}}});
  e["source"] = {
      {"site", "hl7-appliance"},
      {"observer", {{"display", "hl7-appliance"}}},
      {"type", ordered_json::array({{{"system",
                                      "http://terminology.hl7.org/CodeSystem/security-source-type"},
                                     {"code", "4"},
                                     {"display", "Application Server"}}})}};
  ordered_json entities = ordered_json::array();
  if (r.message_seq() != 0) {
    ordered_json details = ordered_json::array();
    if (!r.control_id().empty()) {
      details.push_back({{"type", "MSH-10"}, {"valueString", r.control_id()}});
    }
    if (!r.message_sha256().empty()) {
      details.push_back({{"type", "SHA-256"}, {"valueString", crypto::ToHex(r.message_sha256())}});
    }
    ordered_json entity = {
        {"what", {{"identifier", {{"system", "urn:hl7-appliance:message-seq"},
                                  {"value", std::to_string(r.message_seq())}}}}},
        {"type", {{"system", "http://terminology.hl7.org/CodeSystem/audit-entity-type"},
                  {"code", "2"},
                  {"display", "System Object"}}}};
    if (!details.empty()) entity["detail"] = details;
    entities.push_back(entity);
  }
  // The record's place in the hash chain (the first record links to
  // nothing: FHIR strings must not be empty).
  ordered_json chain = ordered_json::array(
      {{{"type", "hash"}, {"valueString", crypto::ToHex(r.hash())}}});
  if (!r.prev_hash().empty()) {
    chain.push_back({{"type", "prev_hash"}, {"valueString", crypto::ToHex(r.prev_hash())}});
  }
  entities.push_back(
      {{"what", {{"identifier", {{"system", "urn:hl7-appliance:audit-seq"},
                                 {"value", std::to_string(r.seq())}}}}},
       {"type", {{"system", "http://terminology.hl7.org/CodeSystem/audit-entity-type"},
                 {"code", "4"},
                 {"display", "Other"}}},
       {"detail", chain}});
  e["entity"] = entities;
  return e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
