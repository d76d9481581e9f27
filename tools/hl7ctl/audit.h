// `hl7ctl audit verify --data_dir=DIR [--key_file=FILE]`: offline
// verification of the audit trail of a (running or stopped) store.
#ifndef TOOLS_HL7CTL_AUDIT_H_
#define TOOLS_HL7CTL_AUDIT_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace hl7ctl {

// Exit statuses: 0 intact, 1 tampered, 2 cannot read the store or key file,
// 64 usage error.
int RunAudit(const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err);

// A time argument: RFC 3339 (2026-11-01T00:00:00Z) or a date (2026-11-01,
// UTC midnight). False when it is neither.
bool ParseWhen(const std::string& text, absl::Time* when);

}  // namespace hl7ctl

#endif  // TOOLS_HL7CTL_AUDIT_H_
