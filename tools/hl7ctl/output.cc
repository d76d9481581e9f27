#include "tools/hl7ctl/output.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace hl7ctl {
namespace {

std::string Clean(std::string s) {
  for (char& c : s) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::Add(std::vector<std::string> row) {
  row.resize(headers_.size());
  for (auto& cell : row) cell = Clean(std::move(cell));
  rows_.push_back(std::move(row));
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> width(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) width[i] = headers_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i + 1 < cells.size()) {
        s += cells[i] + std::string(width[i] - cells[i].size() + 2, ' ');
      } else {
        s += cells[i];
      }
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

void PrintFields(std::ostream& out, const Fields& fields) {
  size_t width = 0;
  for (const auto& [k, v] : fields) width = std::max(width, k.size());
  for (const auto& [k, v] : fields) {
    out << k << ":" << std::string(width - k.size() + 1, ' ') << Clean(v)
        << "\n";
  }
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::StrCat("{\"error\":\"cannot print as JSON\"}");
  }
  return json;
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                          absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

std::string ShortEnumName(const std::string& full, const std::string& prefix) {
  if (full.rfind(prefix, 0) == 0) return full.substr(prefix.size());
  return full.empty() ? "?" : full;
}

std::string ValueText(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kNullValue:
      return "null";
    case google::protobuf::Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case google::protobuf::Value::kNumberValue: {
      const double d = v.number_value();
      if (std::floor(d) == d && std::fabs(d) < 1e15) {
        return absl::StrCat(static_cast<int64_t>(d));
      }
      return absl::StrFormat("%.6g", d);
    }
    case google::protobuf::Value::kStringValue:
      return v.string_value();
    case google::protobuf::Value::kListValue:
      return absl::StrCat("[", v.list_value().values_size(), " values]");
    case google::protobuf::Value::kStructValue:
      return "{...}";
    default:
      return "";
  }
}

void FlattenStruct(const google::protobuf::Struct& s, const std::string& prefix,
                   Fields* out) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : s.fields()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  for (const auto& k : keys) {
    const auto& v = s.fields().at(k);
    const std::string name = prefix.empty() ? k : prefix + "." + k;
    if (v.kind_case() == google::protobuf::Value::kStructValue) {
      FlattenStruct(v.struct_value(), name, out);
    } else {
      out->emplace_back(name, ValueText(v));
    }
  }
}

}  // namespace hl7ctl
