// Output of hl7ctl's online commands: aligned tables for lists, "key: value"
// lines for single items, and protos as one-line JSON (--json).
#ifndef TOOLS_HL7CTL_OUTPUT_H_
#define TOOLS_HL7CTL_OUTPUT_H_

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace hl7ctl {

// Columns separated by two spaces, each as wide as its widest cell; the last
// column is not padded. Tabs and line breaks in cells become spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void Add(std::vector<std::string> row);
  size_t rows() const { return rows_.size(); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

using Fields = std::vector<std::pair<std::string, std::string>>;
// "key: value" lines, values aligned.
void PrintFields(std::ostream& out, const Fields& fields);

// The proto as one line of JSON (proto field names, zero values included,
// enums by name, uint64 as strings: proto3 JSON).
std::string ToJson(const google::protobuf::Message& message);

// RFC 3339 UTC with seconds ("2026-11-02T08:15:30Z"); "-" when unset.
std::string FormatTime(const google::protobuf::Timestamp& t);
// Enum value name without the prefix: "HELD" for MESSAGE_STATE_HELD.
std::string ShortEnumName(const std::string& full, const std::string& prefix);
// A google.protobuf.Value as text (numbers without a needless ".0").
std::string ValueText(const google::protobuf::Value& v);
// Flattens a Struct into "a.b.c" -> text; lists show their length.
void FlattenStruct(const google::protobuf::Struct& s, const std::string& prefix,
                   Fields* out);

}  // namespace hl7ctl

#endif  // TOOLS_HL7CTL_OUTPUT_H_
