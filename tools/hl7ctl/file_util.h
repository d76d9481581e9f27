// Reading input files for hl7ctl's offline commands.
#ifndef TOOLS_HL7CTL_FILE_UTIL_H_
#define TOOLS_HL7CTL_FILE_UTIL_H_

#include <string>

namespace hl7ctl {

// Reads a regular file whole into *out. On failure returns false with a short
// reason in *error ("No such file or directory", "is a directory", ...).
bool ReadRegularFile(const std::string& path, std::string* out,
                     std::string* error);

}  // namespace hl7ctl

#endif  // TOOLS_HL7CTL_FILE_UTIL_H_
