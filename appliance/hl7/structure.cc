#include "appliance/hl7/structure.h"

#include <string>

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
    for (size_t i = 0; i < message.segment_count(); ++i) {
      const std::string_view name = message.segment(i).name();
      if (IsZSegment(name)) continue;
      indices_.push_back(static_cast<uint32_t>(i));
      codes_.push_back(SegmentCode(name));
    }
  }

  bool Run(const StructureNode& root) {
    MatchChildren(root);
    if (pos_ < indices_.size()) {
      const std::string_view name = Name(pos_);
      AddFinding(pos_, absl::StrCat("segment ", std::string(name),
                                    " is not expected here in ", root.name,
                                    Context()));
      return false;
    }
    return ok_;
  }

 private:
  std::string_view Name(size_t p) const {
    return message_.segment(indices_[p]).name();
  }

  // Location of the segment at position p of the non-Z sequence (or of the
  // message's end).
  Location LocationOf(size_t p) const {
    Location loc;
    if (p >= indices_.size()) {
      if (indices_.empty()) return loc;
      p = indices_.size() - 1;
    }
    const size_t idx = indices_[p];
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
        if (pos_ < codes_.size() && codes_[pos_] == child.code) {
          ++pos_;
          while (child.repeating && pos_ < codes_.size() &&
                 codes_[pos_] == child.code) {
            ++pos_;
          }
        } else if (child.required) {
          Missing(group, child);
        }
        continue;
      }
      if (pos_ < codes_.size() && CanStart(child, codes_[pos_])) {
        MatchChildren(child);
        while (child.repeating && pos_ < codes_.size() &&
               CanStart(child, codes_[pos_])) {
          MatchChildren(child);
        }
      } else if (child.required) {
        Missing(group, child);
      }
    }
  }

  void Missing(const StructureNode& group, const StructureNode& child) {
    std::string where = pos_ < indices_.size()
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
  // Non-Z segments by message position, and their SegmentCode()s. Inline
  // storage: a typical message needs no allocation here.
  absl::InlinedVector<uint32_t, 64> indices_;
  absl::InlinedVector<uint32_t, 64> codes_;
  size_t pos_ = 0;
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
