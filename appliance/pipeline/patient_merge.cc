#include "appliance/pipeline/patient_merge.h"

#include <initializer_list>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace appliance::pipeline {
namespace {

using json = nlohmann::ordered_json;
using fhir::FieldPresence;

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<json> ParseObject(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a JSON object"));
  }
  return j;
}

// The index of the `PUT Patient/...` entry, or -1.
int PatientEntry(const json& bundle) {
  auto entries = bundle.find("entry");
  if (entries == bundle.end() || !entries->is_array()) return -1;
  for (size_t i = 0; i < entries->size(); ++i) {
    const json& e = (*entries)[i];
    if (!e.is_object()) continue;
    auto req = e.find("request");
    auto res = e.find("resource");
    if (req == e.end() || res == e.end() || !res->is_object()) continue;
    if (req->value("method", "") == "PUT" && res->value("resourceType", "") == "Patient") {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

absl::StatusOr<std::string> MergePatient(std::string_view stored_text,
                                         std::string_view update_text,
                                         const fhir::PatientFieldPresence& p) {
  absl::StatusOr<json> stored = ParseObject(stored_text, "stored Patient");
  if (!stored.ok()) return stored.status();
  absl::StatusOr<json> merged = ParseObject(update_text, "Patient");
  if (!merged.ok()) return merged.status();
  auto group = [&](FieldPresence presence, std::initializer_list<const char*> keys) {
    for (const char* k : keys) {
      if (merged->contains(k)) return;  // The message has it: it wins.
    }
    if (presence == FieldPresence::kNull) return;  // `""`: stays removed.
    for (const char* k : keys) {  // Empty: unchanged.
      auto it = stored->find(k);
      if (it != stored->end()) (*merged)[k] = *it;
    }
  };
  group(p.name, {"name"});
  group(p.birth_date, {"birthDate"});
  group(p.gender, {"gender"});
  group(p.address, {"address"});
  group(p.telecom, {"telecom"});
  group(p.deceased, {"deceasedDateTime", "deceasedBoolean"});
  return Dump(*merged);
}

absl::StatusOr<std::string> ExtractPutPatient(std::string_view bundle_text) {
  absl::StatusOr<json> bundle = ParseObject(bundle_text, "Bundle");
  if (!bundle.ok()) return bundle.status();
  const int i = PatientEntry(*bundle);
  if (i < 0) return absl::NotFoundError("the Bundle has no PUT Patient entry");
  return Dump((*bundle)["entry"][i]["resource"]);
}

absl::StatusOr<std::string> ReplacePutPatient(std::string_view bundle_text,
                                              std::string_view patient_text) {
  absl::StatusOr<json> bundle = ParseObject(bundle_text, "Bundle");
  if (!bundle.ok()) return bundle.status();
  absl::StatusOr<json> patient = ParseObject(patient_text, "Patient");
  if (!patient.ok()) return patient.status();
  const int i = PatientEntry(*bundle);
  if (i < 0) return absl::NotFoundError("the Bundle has no PUT Patient entry");
  (*bundle)["entry"][i]["resource"] = *patient;
  return Dump(*bundle);
}

}  // namespace appliance::pipeline
