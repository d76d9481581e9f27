// Loading HL7 v2 message files for sending: directories are expanded, each
// file is split into its messages (one, several back to back, or a FHS/BHS
// batch) and every message is normalised for the wire.
#ifndef TOOLS_HL7SEND_INPUT_H_
#define TOOLS_HL7SEND_INPUT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace hl7send {

// One message ready to be framed.
struct InputMessage {
  std::string file;     // The path it came from (as given, or found below a
                        // directory that was given).
  int index = 0;        // 1-based position among the messages of `file`.
  std::string payload;  // Segments each terminated by a single CR.
};

struct InputFile {
  std::string path;
  bool in_directory = false;  // Found below a directory rather than named.
};

// Expands `paths` into regular files: a file stays as given; a directory
// becomes every regular file below it (recursively, hidden entries whose name
// starts with "." skipped), sorted by path. Problems ("PATH: cannot read: No
// such file or directory") are appended to `*errors`; the other paths are
// still expanded.
std::vector<InputFile> ExpandPaths(const std::vector<std::string>& paths,
                                   std::vector<std::string>* errors);

// The whole content of a regular file. NOT_FOUND / PERMISSION_DENIED /
// FAILED_PRECONDITION (a directory, a device) with the reason as message.
absl::StatusOr<std::string> ReadFileBytes(const std::string& path);

// Splits a file's text into messages (batch headers and trailers dropped) and
// normalises each: CRLF, LF and stray MLLP framing bytes (0x0B, 0x1C) become
// CR, empty segments are dropped, and every segment, the last included, ends
// with exactly one CR. Text that holds no MSH segment yields no message.
std::vector<std::string> SplitAndNormalize(std::string_view text);

// ExpandPaths + ReadFileBytes + SplitAndNormalize over all `paths`, in order.
// A file that cannot be read, or a named file that holds no HL7 message
// ("PATH: no HL7 message found"), adds a line to `*errors`; a file found below
// a directory that holds none (a README) is skipped with a line in
// `*warnings`.
std::vector<InputMessage> LoadMessages(const std::vector<std::string>& paths,
                                       std::vector<std::string>* errors,
                                       std::vector<std::string>* warnings);

}  // namespace hl7send

#endif  // TOOLS_HL7SEND_INPUT_H_
