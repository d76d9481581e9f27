#include "appliance/fhir/mapper.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/fhir/mapping_context.h"
#include "appliance/hl7/escape.h"

namespace appliance::fhir {

const char* FindingSeverityName(FindingSeverity severity) {
  switch (severity) {
    case FindingSeverity::kError:
      return "error";
    case FindingSeverity::kWarning:
      return "warning";
    case FindingSeverity::kInfo:
      return "info";
  }
  return "error";
}

void MapResult::Clear() {
  bundle.clear();
  findings.clear();
  entries.clear();
  hold = false;
  hold_reason.clear();
  terminology_version = 0;
  patient_presence = PatientFieldPresence();
}

Mapper::Mapper(MapperOptions options,
               std::shared_ptr<const Terminology> terminology)
    : options_(std::move(options)),
      terminology_(std::move(terminology)),
      concepts_(std::make_shared<internal::ConceptCache>(terminology_.get())) {}

absl::Status Mapper::Map(const hl7::Message& message, MapResult* result) const {
  // Storage reuse: the Bundle and the entries of the previous message go
  // back into `result` after Clear(). The Context writes over them (the
  // Bundle's bytes are room for the JSON writer, the entries' strings keep
  // their buffers) and drops what is left over.
  std::string reused_bundle = std::move(result->bundle);
  std::vector<MappedEntry> reused_entries = std::move(result->entries);
  result->Clear();
  result->bundle = std::move(reused_bundle);
  result->entries = std::move(reused_entries);
  result->terminology_version = terminology_->version();
  const hl7::Delimiters& d = message.delimiters();
  const std::string_view type = hl7::Piece(message.msh(9), d.component, 1);
  const std::string_view event = hl7::Piece(message.msh(9), d.component, 2);
  internal::Context c(message, options_, *terminology_, concepts_.get(),
                      result);
  if (hl7::CharsetOf(message.charset()) == hl7::Charset::kUnsupported) {
    hl7::Location msh18;
    msh18.segment = "MSH";
    msh18.field = 18;
    c.AddFinding(FindingSeverity::kError, msh18, "unsupported-charset",
                 "character set (MSH-18) is not supported; text cannot be "
                 "decoded reliably");
  }
  absl::Status status;
  if (type == "ORU" && event == "R01") {
    status = internal::MapOru(c);
  } else if (type == "ORM" && event == "O01") {
    status = internal::MapOrm(c);
  } else if (type == "ADT" && (event == "A01" || event == "A08")) {
    status = internal::MapAdt(c, event);
  } else {
    status = absl::UnimplementedError(
        absl::StrCat("no FHIR mapping for message type ", std::string(type),
                     "^", std::string(event)));
  }
  c.TrimEntries();
  if (!status.ok()) {
    result->bundle.clear();
    result->entries.clear();
  }
  return status;
}

}  // namespace appliance::fhir
