#include "tools/hl7send/input.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "appliance/hl7/message.h"

namespace hl7send {
namespace {

namespace fs = std::filesystem;

bool IsHidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

// Appends the regular files below `dir` to `*files`.
void ListDirectory(const std::string& dir, std::vector<InputFile>* files,
                   std::vector<std::string>* errors) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec);
  std::vector<std::string> found;
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    if (IsHidden(entry.path())) {
      if (entry.is_directory(ec)) it.disable_recursion_pending();
      ec.clear();
      continue;
    }
    std::error_code type_ec;
    if (entry.is_regular_file(type_ec)) found.push_back(entry.path().string());
  }
  if (ec) {
    errors->push_back(absl::StrCat(dir, ": cannot read: ", ec.message()));
  }
  std::sort(found.begin(), found.end());
  for (std::string& path : found) files->push_back({std::move(path), true});
}

}  // namespace

std::vector<InputFile> ExpandPaths(const std::vector<std::string>& paths,
                                   std::vector<std::string>* errors) {
  std::vector<InputFile> files;
  for (const std::string& path : paths) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      errors->push_back(absl::StrCat(path, ": cannot read: ", strerror(errno)));
    } else if (S_ISDIR(st.st_mode)) {
      ListDirectory(path, &files, errors);
    } else {
      files.push_back({path, false});  // Not regular: ReadFileBytes says so.
    }
  }
  return files;
}

absl::StatusOr<std::string> ReadFileBytes(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    const int e = errno;
    const std::string reason = strerror(e);
    if (e == ENOENT || e == ENOTDIR) return absl::NotFoundError(reason);
    if (e == EACCES) return absl::PermissionDeniedError(reason);
    return absl::UnavailableError(reason);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string reason = strerror(errno);
    return absl::PermissionDeniedError(reason);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError("read error");
  return ss.str();
}

std::vector<std::string> SplitAndNormalize(std::string_view text) {
  // Every line-ish separator becomes CR first, so SplitMessages sees one kind
  // of terminator (and a captured MLLP stream splits at its frame boundaries).
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // BOM.
  std::string cr(text);
  for (char& c : cr) {
    if (c == '\n' || c == '\x0b' || c == '\x1c') c = '\r';
  }
  appliance::hl7::ParseOptions options;
  options.accept_lf = false;
  std::vector<std::string> out;
  for (std::string_view message : appliance::hl7::SplitMessages(cr, options)) {
    std::string payload;
    payload.reserve(message.size() + 1);
    size_t start = 0;
    while (start < message.size()) {
      size_t end = message.find('\r', start);
      if (end == std::string_view::npos) end = message.size();
      if (end > start) {
        payload.append(message.data() + start, end - start);
        payload.push_back('\r');
      }
      start = end + 1;
    }
    if (!payload.empty()) out.push_back(std::move(payload));
  }
  return out;
}

std::vector<InputMessage> LoadMessages(const std::vector<std::string>& paths,
                                       std::vector<std::string>* errors,
                                       std::vector<std::string>* warnings) {
  std::vector<InputMessage> messages;
  for (const InputFile& input : ExpandPaths(paths, errors)) {
    const std::string& file = input.path;
    absl::StatusOr<std::string> bytes = ReadFileBytes(file);
    if (!bytes.ok()) {
      errors->push_back(
          absl::StrCat(file, ": cannot read: ", bytes.status().message()));
      continue;
    }
    std::vector<std::string> payloads = SplitAndNormalize(*bytes);
    if (payloads.empty()) {
      if (input.in_directory) {
        warnings->push_back(
            absl::StrCat(file, ": skipped, no HL7 message found"));
      } else {
        errors->push_back(absl::StrCat(file, ": no HL7 message found"));
      }
      continue;
    }
    int index = 0;
    for (std::string& payload : payloads) {
      messages.push_back({file, ++index, std::move(payload)});
    }
  }
  return messages;
}

}  // namespace hl7send
