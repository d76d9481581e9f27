// `hl7ctl validate FILE...`: what the appliance would answer, offline.
#ifndef TOOLS_HL7CTL_VALIDATE_H_
#define TOOLS_HL7CTL_VALIDATE_H_

#include <ostream>
#include <string>
#include <vector>

namespace hl7ctl {

// Exit statuses of `hl7ctl validate` (a fixed interface).
inline constexpr int kValidateAllAccepted = 0;
inline constexpr int kValidateNotAccepted = 1;  // Some message got AE/AR/CE/CR.
inline constexpr int kValidateUnreadable = 2;   // A file could not be read.

// Validates every message of every file (a file may hold one message, several
// back to back, or a FHS/BHS batch), printing per message the ACK the appliance
// would return and each finding in plain words to `out`; problems reading files
// go to `err`. Returns one of the exit statuses above (unreadable wins).
int RunValidate(const std::vector<std::string>& files, std::ostream& out,
                std::ostream& err);

}  // namespace hl7ctl

#endif  // TOOLS_HL7CTL_VALIDATE_H_
