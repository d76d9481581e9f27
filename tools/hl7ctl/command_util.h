// Helpers shared by the command handlers (command_*.cc): enum names, and the
// printing of the items several services return.
#ifndef TOOLS_HL7CTL_COMMAND_UTIL_H_
#define TOOLS_HL7CTL_COMMAND_UTIL_H_

#include <ostream>
#include <string>

#include "api/control/v1/common.pb.h"
#include "api/control/v1/messages.pb.h"
#include "api/store/v1/records.pb.h"
#include "tools/hl7ctl/command.h"
#include "tools/hl7ctl/output.h"

namespace hl7ctl {

namespace api = ::hl7appliance::control::v1;
namespace spb = ::hl7appliance::store::v1;

// "HELD" for MESSAGE_STATE_HELD.
std::string StateText(spb::MessageState state);
// Parses "HELD", "held" or "MESSAGE_STATE_HELD"; false when unknown.
bool ParseState(const std::string& text, spb::MessageState* state);
// Adds every --state value to `states`; prints the usage error and returns
// false for an unknown one.
template <typename Repeated>
bool AddStates(Invocation& inv, Repeated* states) {
  for (const std::string& s : inv.GetAll("state")) {
    spb::MessageState state;
    if (!ParseState(s, &state)) {
      inv.Usage("--state=" + s +
                ": not a state (PENDING, MAPPED, HELD, RETRYING, DEAD_LETTER, "
                "DELIVERED, DISCARDED, ERROR, REJECTED)");
      return false;
    }
    states->Add(state);
  }
  return true;
}

std::string AckText(spb::AckCode code);

Fields QueueItemFields(const api::QueueItem& item);
Fields MessageFields(const api::MessageSummary& m);
Fields DeliveryFields(const api::DeliveryState& d);

// Writes `text` to `out`, ending it with a newline if it has none.
void PrintText(std::ostream& out, const std::string& text);

// Prints `response` as JSON when --json, else calls `human`. Returns 0.
template <typename Message, typename Human>
int Print(Invocation& inv, const Message& response, Human human) {
  if (inv.json()) {
    inv.out() << ToJson(response) << "\n";
  } else {
    human();
  }
  return kExitOk;
}

}  // namespace hl7ctl

#endif  // TOOLS_HL7CTL_COMMAND_UTIL_H_
