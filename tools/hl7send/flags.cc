#include "tools/hl7send/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hl7send {
namespace {

bool ParseBool(const std::string& text, bool* out) {
  if (text == "true" || text == "1" || text == "yes") {
    *out = true;
    return true;
  }
  if (text == "false" || text == "0" || text == "no") {
    *out = false;
    return true;
  }
  return false;
}

std::string FormatDouble(double v) {
  std::string s = absl::StrFormat("%.6f", v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

void FlagSet::String(const char* name, std::string* value, const char* metavar,
                     const char* help) {
  flags_.push_back({name, metavar, help, *value, [value](const std::string& v) {
                      *value = v;
                      return true;
                    }});
}

void FlagSet::Int(const char* name, int64_t* value, int64_t min, int64_t max,
                  const char* help) {
  flags_.push_back({name, "N", help, std::to_string(*value),
                    [value, min, max](const std::string& v) {
                      if (v.empty()) return false;
                      char* end = nullptr;
                      errno = 0;
                      const long long n = strtoll(v.c_str(), &end, 10);
                      if (errno != 0 || *end != '\0' || n < min || n > max)
                        return false;
                      *value = n;
                      return true;
                    }});
}

void FlagSet::Double(const char* name, double* value, double min, double max,
                     const char* help) {
  flags_.push_back({name, "X", help, FormatDouble(*value),
                    [value, min, max](const std::string& v) {
                      if (v.empty()) return false;
                      char* end = nullptr;
                      errno = 0;
                      const double d = strtod(v.c_str(), &end);
                      if (errno != 0 || *end != '\0' || !std::isfinite(d) ||
                          d < min || d > max) {
                        return false;
                      }
                      *value = d;
                      return true;
                    }});
}

void FlagSet::Bool(const char* name, bool* value, const char* help) {
  flags_.push_back(
      {name, "", help, *value ? "true" : "",  // "false" goes unsaid.
       [value](const std::string& v) { return ParseBool(v, value); }});
}

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

absl::Status FlagSet::Parse(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional_.push_back(argv[i]);
      break;
    }
    if (arg == "-h" || arg == "--help") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    const size_t eq = name.find('=');
    const bool has_value = eq != std::string::npos;
    if (has_value) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const Flag* flag = Find(name);
    if (flag == nullptr && !has_value && name.compare(0, 2, "no") == 0) {
      // --noname for a boolean.
      const Flag* negated = Find(name.substr(2));
      if (negated != nullptr && negated->metavar.empty()) {
        negated->set("false");
        set_.insert(negated->name);
        continue;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!has_value) {
      if (flag->metavar.empty()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
    }
    if (!flag->set(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value \"", value, "\" for flag --", name));
    }
    set_.insert(name);
  }
  return absl::OkStatus();
}

std::string FlagSet::Describe() const {
  constexpr size_t kIndent = 24;
  constexpr size_t kWidth = 79;
  std::string out;
  for (const Flag& f : flags_) {
    std::string line = absl::StrCat("  --", f.name);
    if (!f.metavar.empty()) absl::StrAppend(&line, "=", f.metavar);
    std::string text = f.help;
    if (!f.default_text.empty()) {
      absl::StrAppend(&text, " (default: ", f.default_text, ")");
    }
    if (line.size() >= kIndent) {
      absl::StrAppend(&out, line, "\n");
      line.clear();
    }
    line.resize(kIndent, ' ');
    // Word-wraps `text` into the column after the flag.
    size_t pos = 0;
    bool first_word = true;
    while (pos < text.size()) {
      size_t end = text.find(' ', pos);
      if (end == std::string::npos) end = text.size();
      const std::string word = text.substr(pos, end - pos);
      if (!first_word && line.size() + 1 + word.size() > kWidth) {
        absl::StrAppend(&out, line, "\n");
        line = std::string(kIndent, ' ');
        first_word = true;
      }
      absl::StrAppend(&line, first_word ? "" : " ", word);
      first_word = false;
      pos = end + 1;
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace hl7send
