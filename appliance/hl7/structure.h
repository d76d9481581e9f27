// Abstract message structures (segment groups, order, cardinality) for the
// message types the appliance accepts, and the matcher that checks a message's
// segment sequence against them.
//
// The grammars are the union of versions 2.3 to 2.5.1 (a segment introduced in
// 2.5, such as SPM, is accepted in any version); Z-segments are allowed
// anywhere and skipped.
#ifndef APPLIANCE_HL7_STRUCTURE_H_
#define APPLIANCE_HL7_STRUCTURE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "appliance/hl7/findings.h"
#include "appliance/hl7/message.h"

namespace appliance::hl7 {

// A segment or a group of them, with cardinality.
struct StructureNode {
  bool is_group;
  const char* name;  // Segment id ("OBX") or group name ("OBSERVATION").
  uint32_t code;     // SegmentCode(name) for segments.
  bool required;
  bool repeating;
  std::vector<StructureNode> children;  // Groups only.
};

// The structure named like "ORU_R01"; nullptr when unknown.
const StructureNode* FindStructure(std::string_view name);

// Checks the segment sequence of `message` against `structure`, appending
// segment-sequence findings (code 100) to `findings`. Returns true when the
// sequence matched.
bool MatchStructure(const Message& message, const StructureNode& structure,
                    std::vector<Finding>* findings);

}  // namespace appliance::hl7

#endif  // APPLIANCE_HL7_STRUCTURE_H_
