// HL7 v2 acknowledgments.
//
// Original mode (MSH-15 and MSH-16 empty): AA, AE or AR.
// Enhanced mode (MSH-15 or MSH-16 valued): an accept acknowledgment CA, CE or
// CR, sent as MSH-15 asks: AL always, NE never, ER only on CE/CR, SU only on
// CA (an empty MSH-15 counts as AL). The appliance stores and forwards; it
// sends no application acknowledgment (MSH-16) of its own.
//
// The ACK swaps sender and receiver (MSH-3..6), uses the message's own
// delimiters, processing id and version, MSH-9 "ACK^<event>^ACK" from v2.5 on
// ("ACK^<event>" before), a new MSH-10, MSA-2 = the original MSH-10, MSA-3 text
// up to v2.4, and ERR segments in the version's layout: ERR-1 (ELD, one
// repetition per finding) up to v2.4; from v2.5 one ERR per finding with ERR-2
// location, ERR-3 code (table 0357), ERR-4 severity and ERR-8 text.
#ifndef APPLIANCE_HL7_ACK_H_
#define APPLIANCE_HL7_ACK_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "appliance/hl7/findings.h"
#include "appliance/hl7/message.h"

namespace appliance::hl7 {

struct AckOptions {
  std::string_view control_id;  // MSH-10 of the ACK: new and unique.
  std::string_view timestamp;   // MSH-7 of the ACK, an HL7 DTM.
  // Used as the ACK's MSH-3/MSH-4 when the message's MSH-5/MSH-6 are empty.
  std::string_view application = "HL7APPLIANCE";
  std::string_view facility;
};

struct Ack {
  AckCode code = AckCode::kAccept;
  std::string_view code_text;  // "AA", "AE", "AR", "CA", "CE" or "CR".
  bool send = true;            // False when MSH-15 asks for no ACK.
  std::string text;            // Segments, each ended by CR.
};

// The acknowledgment for `message` with `findings` and `code` (normally
// Decide(findings, policy)).
Ack BuildAck(const Message& message, const std::vector<Finding>& findings,
             AckCode code, const AckOptions& options);
// Same, into `ack` (reusing its storage).
void BuildAckInto(const Message& message, const std::vector<Finding>& findings,
                  AckCode code, const AckOptions& options, Ack* ack);

// A well-formed AR (standard delimiters, v2.5.1 layout, empty MSA-2) for bytes
// too broken to parse; `error` (from Message::Parse) becomes the ERR text.
Ack BuildRejectForUnparseable(const absl::Status& error,
                              const AckOptions& options,
                              ErrorCode code = ErrorCode::kSegmentSequence);

// Version number as major*100+minor*10+patch ("2.3.1" -> 231, "2.5" -> 250);
// 0 when unreadable.
int VersionNumber(std::string_view version);

}  // namespace appliance::hl7

#endif  // APPLIANCE_HL7_ACK_H_
