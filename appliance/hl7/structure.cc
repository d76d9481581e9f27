#include "appliance/hl7/structure.h"

#include <string>

#include "absl/base/attributes.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"

namespace appliance::hl7 {
namespace {

// Grammar-building shorthands: required / optional, single / repeating.
StructureNode Seg(const char* name, bool required, bool repeating = false) {
  return StructureNode{false, name, SegmentCode(name), required, repeating, {}};
}
StructureNode Grp(const char* name, bool required, bool repeating,
                  std::vector<StructureNode> children) {
  return StructureNode{true, name, 0, required, repeating, std::move(children)};
}
constexpr bool R = true;   // Required.
constexpr bool O = false;  // Optional.
constexpr bool Rep = true;

StructureNode MakeOruR01() {
  return Grp(
      "ORU_R01", R, false,
      {Seg("MSH", R), Seg("SFT", O, Rep),
       Grp("PATIENT_RESULT", R, Rep,
           {Grp("PATIENT", O, false,
                {Seg("PID", R), Seg("PD1", O), Seg("NTE", O, Rep),
                 Seg("NK1", O, Rep),
                 Grp("VISIT", O, false, {Seg("PV1", R), Seg("PV2", O)})}),
            Grp("ORDER_OBSERVATION", R, Rep,
                {Seg("ORC", O), Seg("OBR", R), Seg("NTE", O, Rep),
                 Grp("TIMING_QTY", O, Rep, {Seg("TQ1", R), Seg("TQ2", O, Rep)}),
                 Seg("CTD", O),
                 Grp("OBSERVATION", O, Rep,
                     {Seg("OBX", R), Seg("NTE", O, Rep)}),
                 Seg("FT1", O, Rep), Seg("CTI", O, Rep),
                 Grp("SPECIMEN", O, Rep,
                     {Seg("SPM", R), Seg("OBX", O, Rep)})})}),
       Seg("DSC", O)});
}

StructureNode MakeOrmO01() {
  return Grp(
      "ORM_O01", R, false,
      {Seg("MSH", R), Seg("NTE", O, Rep),
       Grp("PATIENT", O, false,
           {Seg("PID", R), Seg("PD1", O), Seg("NTE", O, Rep),
            Grp("PATIENT_VISIT", O, false, {Seg("PV1", R), Seg("PV2", O)}),
            Grp("INSURANCE", O, Rep,
                {Seg("IN1", R), Seg("IN2", O), Seg("IN3", O)}),
            Seg("GT1", O), Seg("AL1", O, Rep)}),
       Grp("ORDER", R, Rep,
           {Seg("ORC", R),
            Grp("ORDER_DETAIL", O, false,
                {Seg("OBR", R), Seg("NTE", O, Rep), Seg("CTD", O),
                 Seg("DG1", O, Rep),
                 Grp("OBSERVATION", O, Rep,
                     {Seg("OBX", R), Seg("NTE", O, Rep)}),
                 Grp("SPECIMEN", O, Rep, {Seg("SPM", R), Seg("OBX", O, Rep)})}),
            Seg("FT1", O, Rep), Seg("CTI", O, Rep), Seg("BLG", O)})});
}

StructureNode MakeAdtA01() {
  return Grp("ADT_A01", R, false,
             {Seg("MSH", R),
              Seg("SFT", O, Rep),
              Seg("EVN", R),
              Seg("PID", R),
              Seg("PD1", O),
              Seg("ROL", O, Rep),
              Seg("NK1", O, Rep),
              Seg("PV1", R),
              Seg("PV2", O),
              Seg("ROL", O, Rep),
              Seg("DB1", O, Rep),
              Seg("OBX", O, Rep),
              Seg("AL1", O, Rep),
              Seg("DG1", O, Rep),
              Seg("DRG", O),
              Grp("PROCEDURE", O, Rep, {Seg("PR1", R), Seg("ROL", O, Rep)}),
              Seg("GT1", O, Rep),
              Grp("INSURANCE", O, Rep,
                  {Seg("IN1", R), Seg("IN2", O), Seg("IN3", O, Rep),
                   Seg("ROL", O, Rep)}),
              Seg("ACC", O),
              Seg("UB1", O),
              Seg("UB2", O),
              Seg("PDA", O)});
}

bool IsZSegment(std::string_view name) {
  return !name.empty() && name[0] == 'Z';
}

// Whether a segment with code `code` can start `node`.
bool CanStart(const StructureNode& node, uint32_t code) {
  if (!node.is_group) return code == node.code;
  for (const StructureNode& child : node.children) {
    if (CanStart(child, code)) return true;
    if (child.required) return false;
  }
  return false;
}

// The first segment a group must have, for "missing" messages.
const char* FirstRequiredSegment(const StructureNode& node) {
  if (!node.is_group) return node.name;
  for (const StructureNode& child : node.children) {
    if (child.required) return FirstRequiredSegment(child);
  }
  return node.children.empty() ? node.name : node.children[0].name;
}

class Matcher {
 public:
  Matcher(const Message& message, std::vector<Finding>* findings)
      : message_(message), findings_(findings) {
    // The codes of the non-Z segments, then a sentinel 0 that no node's code
    // equals (all are codes of three-letter names), so that matching needs no
    // bounds checks.
    codes_.resize(message.segment_count() + 1);
    uint32_t* out = codes_.data();
    for (size_t i = 0; i < message.segment_count(); ++i) {
      if (IsZSegment(message.segment(i).name())) continue;
      *out++ = message.segment_code(i);
    }
    *out = 0;
    size_ = out - codes_.data();
    code_ = codes_.data();
  }

  bool Run(const StructureNode& root) {
    MatchChildren(root);
    if (pos_ < size_) {
      const std::string_view name = Name(pos_);
      AddFinding(pos_, absl::StrCat("segment ", std::string(name),
                                    " is not expected here in ", root.name,
                                    Context()));
      return false;
    }
    return ok_;
  }

 private:
  // Message index of the segment at position p of the non-Z sequence.
  size_t MessageIndex(size_t p) const {
    size_t i = 0;
    for (;; ++i) {
      if (IsZSegment(message_.segment(i).name())) continue;
      if (p-- == 0) return i;
    }
  }

  std::string_view Name(size_t p) const {
    return message_.segment(MessageIndex(p)).name();
  }

  // Location of the segment at position p of the non-Z sequence (or of the
  // message's end).
  Location LocationOf(size_t p) const {
    Location loc;
    if (p >= size_) {
      if (size_ == 0) return loc;
      p = size_ - 1;
    }
    const size_t idx = MessageIndex(p);
    const std::string_view name = message_.segment(idx).name();
    loc.segment = std::string(name);
    int occ = 0;
    for (size_t i = 0; i <= idx; ++i) occ += message_.segment(i).name() == name;
    loc.occurrence = occ;
    return loc;
  }

  std::string Context() const {
    if (pos_ == 0) return "";
    return absl::StrCat(" (after ", std::string(Name(pos_ - 1)), ")");
  }

  void AddFinding(size_t p, std::string text) {
    ok_ = false;
    findings_->push_back(Finding{ErrorCode::kSegmentSequence, Severity::kError,
                                 LocationOf(p), std::move(text)});
  }

  void MatchChildren(const StructureNode& group) {
    for (const StructureNode& child : group.children) {
      if (!child.is_group) {
        if (code_[pos_] == child.code) {
          ++pos_;
          while (child.repeating && code_[pos_] == child.code) ++pos_;
        } else if (child.required) {
          Missing(group, child);
        }
        continue;
      }
      if (CanStart(child, code_[pos_])) {
        MatchChildren(child);
        while (child.repeating && CanStart(child, code_[pos_])) {
          MatchChildren(child);
        }
      } else if (child.required) {
        Missing(group, child);
      }
    }
  }

  ABSL_ATTRIBUTE_NOINLINE void Missing(const StructureNode& group,
                                       const StructureNode& child) {
    std::string where = pos_ < size_
                            ? absl::StrCat(" before ", std::string(Name(pos_)))
                            : std::string(" at the end of the message");
    if (child.is_group) {
      AddFinding(pos_,
                 absl::StrCat("required segment group ", child.name,
                              " (starting with ", FirstRequiredSegment(child),
                              ") missing", where));
    } else {
      AddFinding(pos_, absl::StrCat("required segment ", child.name,
                                    " missing in ", group.name, where));
    }
  }

  const Message& message_;
  std::vector<Finding>* findings_;  // Not owned; outlives the Matcher.
  // SegmentCode()s of the non-Z segments, in message order, and the sentinel.
  // Inline storage: a typical message needs no allocation here.
  absl::InlinedVector<uint32_t, 64> codes_;
  const uint32_t* code_ = nullptr;  // codes_.data().
  size_t size_ = 0;                 // Non-Z segments.
  size_t pos_ = 0;                  // Next segment to match; <= size_.
  bool ok_ = true;
};

}  // namespace

const StructureNode* FindStructure(std::string_view name) {
  static const StructureNode* const kOru = new StructureNode(MakeOruR01());
  static const StructureNode* const kOrm = new StructureNode(MakeOrmO01());
  static const StructureNode* const kAdt = new StructureNode(MakeAdtA01());
  if (name == "ORU_R01") return kOru;
  if (name == "ORM_O01") return kOrm;
  if (name == "ADT_A01") return kAdt;
  return nullptr;
}

bool MatchStructure(const Message& message, const StructureNode& structure,
                    std::vector<Finding>* findings) {
  return Matcher(message, findings).Run(structure);
}

}  // namespace appliance::hl7
