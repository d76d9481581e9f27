// Structure and content validation of HL7 v2 messages.
//
// Supported: ORU^R01, ORM^O01, ADT^A01 and ADT^A08 (structure ADT_A01) in
// versions 2.3, 2.3.1, 2.4, 2.5 and 2.5.1. The structure comes from MSH-9.3,
// or is derived from MSH-9.1/9.2 when absent (as in 2.3). Checks: segment
// groups, order and cardinality (structure.h); required fields; data types of
// key fields (TS/DTM, DT, TM, NM, SN, CE/CWE, CX, XPN); table values where
// patient safety depends on them (OBX-2 0125, OBX-8 0078, OBX-11 0085, OBR-25
// 0123, PID-8 0001, ORC-1 0119); MSH-18 character set.
//
// Finding texts name fields and codes but never echo field values, so they
// are safe to log and to return in ACKs.
#ifndef APPLIANCE_HL7_VALIDATOR_H_
#define APPLIANCE_HL7_VALIDATOR_H_

#include <string_view>
#include <vector>

#include "appliance/hl7/findings.h"
#include "appliance/hl7/message.h"

namespace appliance::hl7 {

// MSH-9 as read, plus the structure used to validate it.
struct MessageType {
  std::string_view code;           // MSH-9.1, "ORU".
  std::string_view event;          // MSH-9.2, "R01".
  std::string_view structure;      // "ORU_R01", empty when unsupported.
  bool structure_derived = false;  // MSH-9.3 was absent.
};

struct ValidationResult {
  MessageType type;
  std::vector<Finding> findings;
};

// Validates `message`. Never fails: problems are findings.
ValidationResult Validate(const Message& message);
// Same, reusing `result`'s storage.
void ValidateInto(const Message& message, ValidationResult* result);

// True for the versions above ("2.3" ... "2.5.1").
bool IsSupportedVersion(std::string_view version);

}  // namespace appliance::hl7

#endif  // APPLIANCE_HL7_VALIDATOR_H_
