#include "appliance/hl7/ack.h"

#include "absl/strings/str_cat.h"
#include "appliance/hl7/escape.h"

namespace appliance::hl7 {
namespace {

constexpr int kV25 = 250;

void AppendNumber(std::string* out, int n) { absl::StrAppend(out, n); }

void AppendView(std::string* out, std::string_view v) {
  out->append(v.data(), v.size());
}

// ERR-2 (ERL): segment^sequence^field^repetition^component^subcomponent.
void AppendErl(std::string* out, const Location& loc, const Delimiters& d) {
  if (loc.segment.empty()) return;
  out->append(loc.segment);
  out->push_back(d.component);
  AppendNumber(out, loc.occurrence);
  if (loc.field <= 0) return;
  out->push_back(d.component);
  AppendNumber(out, loc.field);
  out->push_back(d.component);
  AppendNumber(out, loc.repetition > 0 ? loc.repetition : 1);
  if (loc.component <= 0) return;
  out->push_back(d.component);
  AppendNumber(out, loc.component);
  if (loc.subcomponent <= 0) return;
  out->push_back(d.component);
  AppendNumber(out, loc.subcomponent);
}

// The first three components of ERR-1 (ELD): segment^sequence^field^ (the
// fourth, the code, follows).
void AppendEldLocation(std::string* out, const Location& loc,
                       const Delimiters& d) {
  out->append(loc.segment);
  out->push_back(d.component);
  if (!loc.segment.empty()) AppendNumber(out, loc.occurrence);
  out->push_back(d.component);
  if (loc.field > 0) AppendNumber(out, loc.field);
  out->push_back(d.component);
}

std::string_view CodeText(AckCode code, bool enhanced) {
  switch (code) {
    case AckCode::kAccept:
      return enhanced ? "CA" : "AA";
    case AckCode::kError:
      return enhanced ? "CE" : "AE";
    case AckCode::kReject:
      return enhanced ? "CR" : "AR";
  }
  return "AR";
}

struct Header {
  std::string_view encoding;                 // MSH-2 as received.
  std::string_view app, facility;            // ACK's MSH-3, MSH-4.
  std::string_view recv_app, recv_facility;  // ACK's MSH-5, MSH-6.
  std::string_view event;
  std::string_view processing_id;
  std::string_view version_field;  // MSH-12 as received.
  std::string_view charset;
  std::string_view orig_control_id;
  int version = 0;
};

void BuildInto(const Header& h, const Delimiters& d,
               const std::vector<Finding>& findings, AckCode code,
               bool enhanced, const AckOptions& options, Ack* ack) {
  ack->code = code;
  ack->code_text = CodeText(code, enhanced);
  std::string& out = ack->text;
  out.clear();
  out.reserve(160 + findings.size() * 96);
  const char f = d.field;
  out.append("MSH");
  out.push_back(f);
  AppendView(&out, h.encoding);
  for (std::string_view v :
       {h.app.empty() ? options.application : h.app,
        h.app.empty() && h.facility.empty() ? options.facility : h.facility,
        h.recv_app, h.recv_facility, options.timestamp, std::string_view()}) {
    out.push_back(f);
    AppendView(&out, v);
  }
  out.push_back(f);
  out.append("ACK");
  if (!h.event.empty()) {
    out.push_back(d.component);
    AppendView(&out, h.event);
  }
  if (h.version >= kV25) {
    if (h.event.empty()) out.push_back(d.component);
    out.push_back(d.component);
    out.append("ACK");
  }
  out.push_back(f);
  AppendView(&out, options.control_id);
  out.push_back(f);
  AppendView(&out,
             h.processing_id.empty() ? std::string_view("P") : h.processing_id);
  out.push_back(f);
  AppendView(&out, h.version_field.empty() ? std::string_view("2.5.1")
                                           : h.version_field);
  if (!h.charset.empty()) {
    // MSH-13 .. MSH-17 empty, then MSH-18.
    for (int i = 13; i <= 18; ++i) out.push_back(f);
    AppendView(&out, h.charset);
  }
  out.push_back('\r');

  out.append("MSA");
  out.push_back(f);
  AppendView(&out, ack->code_text);
  out.push_back(f);
  AppendView(&out, h.orig_control_id);
  if (h.version < kV25) {
    // MSA-3 text message (withdrawn from v2.5 on).
    std::string_view text;
    for (const Finding& fd : findings) {
      if (fd.severity == Severity::kError) {
        text = fd.text;
        break;
      }
    }
    if (!text.empty()) {
      out.push_back(f);
      out.append(Escape(text.substr(0, 80), d));
    }
  }
  out.push_back('\r');

  if (findings.empty()) return;
  if (h.version < kV25) {
    // One ERR; ERR-1 (ELD) repeats: segment^sequence^field^code&text&HL70357.
    out.append("ERR");
    out.push_back(f);
    bool first = true;
    for (const Finding& fd : findings) {
      if (!first) out.push_back(d.repetition);
      first = false;
      AppendEldLocation(&out, fd.location, d);
      const char sub = d.subcomponent != '\0' ? d.subcomponent : '&';
      AppendNumber(&out, static_cast<int>(fd.code));
      out.push_back(sub);
      out.append(Escape(fd.text, d));
      out.push_back(sub);
      out.append("HL70357");
    }
    out.push_back('\r');
    return;
  }
  for (const Finding& fd : findings) {
    out.append("ERR");
    out.push_back(f);
    out.push_back(f);  // ERR-1 not used from v2.5.
    AppendErl(&out, fd.location, d);
    out.push_back(f);
    AppendNumber(&out, static_cast<int>(fd.code));
    out.push_back(d.component);
    out.append(ErrorCodeText(fd.code));
    out.push_back(d.component);
    out.append("HL70357");
    out.push_back(f);
    out.append(SeverityCode(fd.severity));
    for (int i = 5; i <= 8; ++i) out.push_back(f);
    out.append(Escape(fd.text, d));  // ERR-8 user message.
    out.push_back('\r');
  }
}

}  // namespace

int VersionNumber(std::string_view v) {
  int parts[3] = {0, 0, 0};
  int idx = 0;
  bool digit = false;
  for (char c : v) {
    if (c >= '0' && c <= '9') {
      parts[idx] = parts[idx] * 10 + (c - '0');
      if (parts[idx] > 99) return 0;
      digit = true;
    } else if (c == '.' && digit && idx < 2) {
      ++idx;
      digit = false;
    } else {
      return 0;
    }
  }
  if (!digit && idx == 0) return 0;
  return parts[0] * 100 + parts[1] * 10 + parts[2];
}

namespace {

// The message's delimiters with any it did not declare (a short MSH-2) filled
// in, so the ACK's ERR segments can be written.
Delimiters CompleteDelimiters(const Delimiters& in) {
  Delimiters d = in;
  char* slots[] = {&d.component, &d.repetition, &d.escape, &d.subcomponent};
  for (char* slot : slots) {
    if (*slot != '\0') continue;
    for (char candidate : std::string_view("^~\\&#$*@%!")) {
      if (candidate != d.field && candidate != d.component &&
          candidate != d.repetition && candidate != d.escape &&
          candidate != d.subcomponent) {
        *slot = candidate;
        break;
      }
    }
  }
  return d;
}

}  // namespace

void BuildAckInto(const Message& m, const std::vector<Finding>& findings,
                  AckCode code, const AckOptions& options, Ack* ack) {
  const Delimiters& declared = m.delimiters();
  const bool complete = declared.subcomponent != '\0';
  const Delimiters d = complete ? declared : CompleteDelimiters(declared);
  const std::string encoding =
      complete ? std::string() : d.EncodingCharacters();
  Header h;
  h.encoding = complete ? m.msh(2) : std::string_view(encoding);
  h.app = m.msh(5);
  h.facility = m.msh(6);
  h.recv_app = m.msh(3);
  h.recv_facility = m.msh(4);
  h.event = Piece(m.msh(9), d.component, 2);
  h.processing_id = m.msh(11);
  h.version_field = m.msh(12);
  h.charset = CharsetOf(m.charset()) == Charset::kUnsupported
                  ? std::string_view()
                  : m.charset();
  h.orig_control_id = m.control_id();
  const int v = VersionNumber(m.version());
  h.version = v == 0 ? 251 : v;
  const std::string_view accept_type = m.msh(15);
  const bool enhanced = !accept_type.empty() || !m.msh(16).empty();
  BuildInto(h, d, findings, code, enhanced, options, ack);
  ack->send = true;
  if (enhanced) {
    if (accept_type == "NE") {
      ack->send = false;
    } else if (accept_type == "ER") {
      ack->send = code != AckCode::kAccept;
    } else if (accept_type == "SU") {
      ack->send = code == AckCode::kAccept;
    }
  }
}

Ack BuildAck(const Message& message, const std::vector<Finding>& findings,
             AckCode code, const AckOptions& options) {
  Ack ack;
  BuildAckInto(message, findings, code, options, &ack);
  return ack;
}

Ack BuildRejectForUnparseable(const absl::Status& error,
                              const AckOptions& options, ErrorCode code) {
  Header h;
  h.encoding = "^~\\&";
  h.version = 251;
  const Delimiters d;
  std::vector<Finding> findings;
  findings.push_back(Finding{
      code, Severity::kError, Location(),
      absl::StrCat(
          "message could not be parsed: ",
          std::string(error.message().data(), error.message().size()))});
  Ack ack;
  BuildInto(h, d, findings, AckCode::kReject, /*enhanced=*/false, options,
            &ack);
  return ack;
}

}  // namespace appliance::hl7
