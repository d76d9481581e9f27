#include "appliance/fhir/terminology.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace appliance::fhir {
namespace {

absl::string_view Av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

struct BuiltinSystem {
  const char* name;
  const char* uri;
};

// HL7 table 0396 names (and common variants) with published FHIR URIs.
constexpr BuiltinSystem kBuiltinSystems[] = {
    {"LN", kLoincUri},
    {"LOINC", kLoincUri},
    {"SCT", kSnomedUri},
    {"SNM", kSnomedUri},
    {"SNOMED", kSnomedUri},
    {"SNOMEDCT", kSnomedUri},
    {"UCUM", kUcumUri},
    {"I10", "http://hl7.org/fhir/sid/icd-10"},
    {"ICD10", "http://hl7.org/fhir/sid/icd-10"},
    {"I10C", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"I9C", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"RXNORM", "http://www.nlm.nih.gov/research/umls/rxnorm"},
    {"RXN", "http://www.nlm.nih.gov/research/umls/rxnorm"},
    {"C4", "http://www.ama-assn.org/go/cpt"},
    {"CPT", "http://www.ama-assn.org/go/cpt"},
    {"NDC", "http://hl7.org/fhir/sid/ndc"},
    {"CVX", "http://hl7.org/fhir/sid/cvx"},
};

// Common lab units whose text is valid UCUM as sent (or nearly).
struct BuiltinUnit {
  const char* text;
  const char* ucum;
  const char* display;
};
constexpr BuiltinUnit kBuiltinUnits[] = {
    {"mmol/L", "mmol/L", "mmol/L"},
    {"umol/L", "umol/L", "umol/L"},
    {"\xC2\xB5mol/L", "umol/L", "umol/L"},
    {"nmol/L", "nmol/L", "nmol/L"},
    {"pmol/L", "pmol/L", "pmol/L"},
    {"mol/L", "mol/L", "mol/L"},
    {"mg/dL", "mg/dL", "mg/dL"},
    {"mg/L", "mg/L", "mg/L"},
    {"g/dL", "g/dL", "g/dL"},
    {"g/L", "g/L", "g/L"},
    {"ug/L", "ug/L", "ug/L"},
    {"ng/mL", "ng/mL", "ng/mL"},
    {"ng/L", "ng/L", "ng/L"},
    {"pg/mL", "pg/mL", "pg/mL"},
    {"U/L", "U/L", "U/L"},
    {"IU/L", "[IU]/L", "IU/L"},
    {"mU/L", "mU/L", "mU/L"},
    {"mIU/L", "m[IU]/L", "mIU/L"},
    {"10*9/L", "10*9/L", "10*9/L"},
    {"10^9/L", "10*9/L", "10*9/L"},
    {"10*12/L", "10*12/L", "10*12/L"},
    {"10^12/L", "10*12/L", "10*12/L"},
    {"10*3/uL", "10*3/uL", "10*3/uL"},
    {"%", "%", "%"},
    {"fL", "fL", "fL"},
    {"pg", "pg", "pg"},
    {"s", "s", "s"},
    {"sec", "s", "s"},
    {"min", "min", "min"},
    {"h", "h", "h"},
    {"mm/h", "mm/h", "mm/h"},
    {"mL/min", "mL/min", "mL/min"},
    {"mL/min/{1.73_m2}", "mL/min/{1.73_m2}", "mL/min/1.73m2"},
    {"mmol/mol", "mmol/mol", "mmol/mol"},
    {"mm[Hg]", "mm[Hg]", "mmHg"},
    {"mmHg", "mm[Hg]", "mmHg"},
    {"kg", "kg", "kg"},
    {"g", "g", "g"},
    {"cm", "cm", "cm"},
    {"Cel", "Cel", "degree Celsius"},
    {"{ratio}", "{ratio}", "ratio"},
    {"{index}", "{index}", "index"},
    {"{titer}", "{titer}", "titer"},
    {"1", "1", "1"},
};

bool IsHl7TableName(std::string_view name) {
  // HL7nnnn (HL7-defined tables).
  if (name.size() != 7 || name.substr(0, 3) != "HL7") return false;
  for (char c : name.substr(3)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Terminology::Terminology() {
  for (const BuiltinSystem& s : kBuiltinSystems) systems_[s.name] = s.uri;
  for (const BuiltinUnit& u : kBuiltinUnits) {
    AddUnit(u.text, Coding{kUcumUri, u.ucum, u.display});
  }
}

std::string Terminology::CodeKey(std::string_view system, std::string_view code,
                                 std::string_view facility) {
  std::string key;
  key.reserve(system.size() + code.size() + facility.size() + 2);
  key.append(system.data(), system.size());
  key.push_back('\x1f');
  key.append(code.data(), code.size());
  key.push_back('\x1f');
  key.append(facility.data(), facility.size());
  return key;
}

void Terminology::AddSystem(const std::string& name, const std::string& uri) {
  ++revision_;
  systems_[name] = uri;
}

void Terminology::AddCode(const std::string& source_system,
                          const std::string& code, const std::string& facility,
                          Coding target) {
  ++revision_;
  std::vector<Coding>& v = codes_[CodeKey(source_system, code, facility)];
  for (const Coding& c : v) {
    if (c.system == target.system && c.code == target.code) return;
  }
  v.push_back(std::move(target));
}

void Terminology::AddUnit(const std::string& unit, Coding ucum) {
  ++revision_;
  units_lower_[absl::AsciiStrToLower(unit)] = ucum;
  units_[unit] = std::move(ucum);
}

void Terminology::AddAuthority(const std::string& authority,
                               const std::string& uri) {
  ++revision_;
  authorities_[authority] = uri;
}

bool Terminology::IsStandardSystem(std::string_view name) const {
  return IsHl7TableName(name) || systems_.contains(Av(name));
}

std::string Terminology::SystemUri(std::string_view name,
                                   std::string_view facility) const {
  auto it = systems_.find(Av(name));
  if (it != systems_.end()) return it->second;
  if (IsHl7TableName(name)) {
    return absl::StrCat("http://terminology.hl7.org/CodeSystem/v2-",
                        Av(name.substr(3)));
  }
  return absl::StrCat(local_system_base_, Av(facility), "/",
                      name.empty() ? absl::string_view("L") : Av(name));
}

const std::vector<Coding>* Terminology::LookupCode(
    std::string_view system, std::string_view code,
    std::string_view facility) const {
  if (codes_.empty()) return nullptr;
  if (!facility.empty()) {
    auto it = codes_.find(CodeKey(system, code, facility));
    if (it != codes_.end()) return &it->second;
  }
  auto it = codes_.find(CodeKey(system, code, ""));
  return it == codes_.end() ? nullptr : &it->second;
}

const Coding* Terminology::LookupUnit(std::string_view unit) const {
  auto it = units_.find(Av(unit));
  if (it != units_.end()) return &it->second;
  auto lower = units_lower_.find(absl::AsciiStrToLower(Av(unit)));
  return lower == units_lower_.end() ? nullptr : &lower->second;
}

std::string Terminology::AuthorityUri(std::string_view authority) const {
  auto it = authorities_.find(Av(authority));
  if (it != authorities_.end()) return it->second;
  return absl::StrCat(local_identifier_base_, Av(authority));
}

absl::Status SplitCsvLine(std::string_view line,
                          std::vector<std::string>* fields) {
  fields->clear();
  std::string cur;
  size_t i = 0;
  bool quoted_field = false;
  while (true) {
    if (i < line.size() && line[i] == '"' && cur.empty() && !quoted_field) {
      quoted_field = true;
      ++i;
      while (true) {
        if (i >= line.size()) {
          return absl::InvalidArgumentError("unterminated quoted field");
        }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cur.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cur.push_back(line[i++]);
      }
      continue;
    }
    if (i >= line.size() || line[i] == ',') {
      fields->push_back(std::move(cur));
      cur.clear();
      quoted_field = false;
      if (i >= line.size()) break;
      ++i;
      continue;
    }
    cur.push_back(line[i++]);
  }
  return absl::OkStatus();
}

absl::Status Terminology::LoadCsv(std::string_view csv) {
  std::vector<std::string> f;
  size_t line_no = 0;
  while (!csv.empty()) {
    size_t end = csv.find('\n');
    std::string_view line = csv.substr(0, end);
    csv.remove_prefix(end == std::string_view::npos ? csv.size() : end + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view trimmed =
        line.substr(std::min(line.size(), line.find_first_not_of(" \t")));
    if (trimmed.empty() || trimmed[0] == '#') continue;
    auto error = [&](const std::string& what) {
      return absl::InvalidArgumentError(
          absl::StrCat("terminology CSV line ", line_no, ": ", what));
    };
    absl::Status split = SplitCsvLine(line, &f);
    if (!split.ok()) return error(std::string(split.message()));
    if (line_no == 1 && !f.empty() && f[0] == "kind") continue;
    if (f.size() < 5 || f.size() > 7) {
      return error(absl::StrCat("expected 5 to 7 fields, got ", f.size()));
    }
    f.resize(7);
    for (std::string& s : f) {
      s = std::string(absl::StripAsciiWhitespace(s));
    }
    const std::string& kind = f[0];
    if (kind == "code") {
      if (f[1].empty() || f[2].empty() || f[4].empty() || f[5].empty()) {
        return error(
            "a code mapping needs source_system, source_code, target_system "
            "and target_code");
      }
    } else if (kind == "system") {
      if (f[1].empty() || f[4].empty()) {
        return error("a system mapping needs source_system and target_system");
      }
    } else if (kind == "unit") {
      if (f[2].empty() || f[5].empty()) {
        return error("a unit mapping needs source_code and target_code");
      }
    } else if (kind == "authority") {
      if (f[1].empty() || f[4].empty()) {
        return error(
            "an authority mapping needs source_system and "
            "target_system");
      }
    }
    if (!AddMapping(kind, f[1], f[2], f[3], f[4], f[5], f[6])) {
      return error(absl::StrCat("unknown kind \"", kind,
                                "\" (code, system, unit or authority)"));
    }
  }
  return absl::OkStatus();
}

bool Terminology::AddMapping(const std::string& kind,
                             const std::string& source_system,
                             const std::string& source_code,
                             const std::string& facility,
                             const std::string& target_system,
                             const std::string& target_code,
                             const std::string& target_display) {
  if (kind == "code") {
    AddCode(source_system, source_code, facility,
            Coding{target_system, target_code, target_display});
  } else if (kind == "system") {
    AddSystem(source_system, target_system);
  } else if (kind == "unit") {
    AddUnit(source_code,
            Coding{target_system.empty() ? kUcumUri : target_system,
                   target_code,
                   target_display.empty() ? target_code : target_display});
  } else if (kind == "authority") {
    AddAuthority(source_system, target_system);
  } else {
    return false;
  }
  return true;
}

}  // namespace appliance::fhir
