#include "appliance/fhir/json_writer.h"

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace appliance::fhir {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

TEST(JsonWriterTest, CompactKeepsKeyOrder) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Member("z", "last first");
  w.Member("a", "b");
  w.ArrayMember("list");
  w.Int(1);
  w.RawNumber("2.50");
  w.Bool(false);
  w.BeginObject();
  w.EndObject();
  w.EndArray();
  w.ObjectMember("o");
  w.OptionalMember("skipped", "");
  w.EndObject();
  w.EndObject();
  EXPECT_EQ(out,
            R"({"z":"last first","a":"b","list":[1,2.50,false,{}],"o":{}})");
  EXPECT_EQ(w.depth(), 0u);
}

TEST(JsonWriterTest, PrettyMatchesJsonStringify) {
  std::string out;
  JsonWriter w(&out, /*pretty=*/true);
  w.BeginObject();
  w.Member("resourceType", "Bundle");
  w.ArrayMember("entry");
  w.BeginObject();
  w.Member("fullUrl", "urn:uuid:x");
  w.EndObject();
  w.EndArray();
  w.ArrayMember("empty");
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(out,
            "{\n"
            "  \"resourceType\": \"Bundle\",\n"
            "  \"entry\": [\n"
            "    {\n"
            "      \"fullUrl\": \"urn:uuid:x\"\n"
            "    }\n"
            "  ],\n"
            "  \"empty\": []\n"
            "}");
}

// Writes the same document with tokens, or with RawJson for the parts in
// `raw` (a member list, an object value, an array element).
std::string FragmentDocument(bool pretty, bool raw) {
  std::string out;
  JsonWriter w(&out, pretty);
  w.BeginObject();
  w.Member("first", "x");
  if (raw) {
    w.RawJson(R"("category":[{"coding":[{"system":"s","code":"c"}]}],)"
              R"("empty":{},"list":[],"n":1.50,"q":"a,b:{c}[d]\"e")");
  } else {
    w.ArrayMember("category");
    w.BeginObject();
    w.ArrayMember("coding");
    w.BeginObject();
    w.Member("system", "s");
    w.Member("code", "c");
    w.EndObject();
    w.EndArray();
    w.EndObject();
    w.EndArray();
    w.ObjectMember("empty");
    w.EndObject();
    w.ArrayMember("list");
    w.EndArray();
    w.Key("n");
    w.RawNumber("1.50");
    w.Member("q", "a,b:{c}[d]\"e");
  }
  w.Key("value");
  if (raw) {
    w.RawJson(R"({"reference":"urn:uuid:1"})");
  } else {
    w.BeginObject();
    w.Member("reference", "urn:uuid:1");
    w.EndObject();
  }
  w.ArrayMember("items");
  w.Int(1);
  if (raw) {
    w.RawJson(R"([{"a":[1,2]},true])");
  } else {
    w.BeginArray();
    w.BeginObject();
    w.ArrayMember("a");
    w.Int(1);
    w.Int(2);
    w.EndArray();
    w.EndObject();
    w.Bool(true);
    w.EndArray();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

TEST(JsonWriterTest, RawJsonEqualsTheSameTokens) {
  EXPECT_EQ(FragmentDocument(/*pretty=*/false, /*raw=*/true),
            FragmentDocument(/*pretty=*/false, /*raw=*/false));
  EXPECT_EQ(FragmentDocument(/*pretty=*/true, /*raw=*/true),
            FragmentDocument(/*pretty=*/true, /*raw=*/false));
  EXPECT_EQ(
      FragmentDocument(/*pretty=*/false, /*raw=*/true),
      R"({"first":"x","category":[{"coding":[{"system":"s","code":"c"}]}],)"
      R"("empty":{},"list":[],"n":1.50,"q":"a,b:{c}[d]\"e",)"
      R"("value":{"reference":"urn:uuid:1"},"items":[1,[{"a":[1,2]},true]]})");
}

// The compact document of FragmentDocument indented afterwards equals the
// document written by a pretty writer (the FHIR mappers write compact and
// indent the finished Bundle).
TEST(JsonWriterTest, AppendPrettyJsonEqualsPrettyWriter) {
  std::string pretty;
  AppendPrettyJson(FragmentDocument(/*pretty=*/false, /*raw=*/false), &pretty);
  EXPECT_EQ(pretty, FragmentDocument(/*pretty=*/true, /*raw=*/false));
}

// Raw runs that open, fill and close containers give the bytes of the same
// tokens.
TEST(JsonWriterTest, RawRunsEqualTheSameTokens) {
  std::string tokens;
  {
    JsonWriter w(&tokens);
    w.BeginObject();
    w.Member("a", "x");
    w.ArrayMember("entry");
    for (int k = 0; k < 2; ++k) {
      w.BeginObject();
      w.Member("fullUrl", "urn:uuid:1");
      w.ObjectMember("resource");
      w.Member("id", "1");
      w.Member("text", "q\"\n");
      w.EndObject();
      w.ObjectMember("request");
      w.Member("method", "PUT");
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
    w.Key("after");
    w.Int(1);
    w.EndObject();
  }
  std::string raw;
  {
    JsonWriter w(&raw);
    w.BeginObject();
    w.Member("a", "x");
    w.ArrayMember("entry");
    for (int k = 0; k < 2; ++k) {
      w.RawBegin();  // Writes the comma before the second entry.
      w.Raw({R"({"fullUrl":"urn:uuid:)", "1", R"(","resource":{"id":"1")"});
      w.RawEnd(/*depth_change=*/2);
      w.RawBegin();
      w.Raw(R"("text":)");
      w.RawString("q\"\n");
      w.RawEnd();
      w.EndObject();  // resource
      w.RawBegin();
      w.Raw(R"("request":{"method":")");
      w.RawEscaped("PUT");
      w.Raw(R"("}})");
      w.RawEnd(/*depth_change=*/-1);
    }
    w.EndArray();
    w.Key("after");
    w.RawBegin();  // No comma after a key.
    w.Raw("1");
    w.RawEnd();
    w.EndObject();
  }
  EXPECT_EQ(raw, tokens);
  EXPECT_EQ(raw,
            R"({"a":"x","entry":[{"fullUrl":"urn:uuid:1","resource":{"id":"1",)"
            R"("text":"q\"\n"},"request":{"method":"PUT"}},{"fullUrl":)"
            R"("urn:uuid:1","resource":{"id":"1","text":"q\"\n"},"request":)"
            R"({"method":"PUT"}}],"after":1})");
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(Quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Quoted("l1\nl2\r\t"), R"("l1\nl2\r\t")");
  EXPECT_EQ(Quoted(std::string("\x01\x1f\b\f", 4)), R"("\u0001\u001f\b\f")");
  EXPECT_EQ(Quoted(std::string("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(Quoted("/<>&'"), R"("/<>&'")");
}

TEST(JsonStringTest, KeepsValidUtf8AndReplacesInvalid) {
  EXPECT_EQ(Quoted("Zo\xC3\xAB M\xC3\xBCller \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"Zo\xC3\xAB M\xC3\xBCller \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  // Lone Latin-1 byte, truncated sequence, overlong, surrogate, > U+10FFFF.
  EXPECT_EQ(Quoted("J\xDCRGEN"), "\"J\xEF\xBF\xBDRGEN\"");
  EXPECT_EQ(Quoted("\xE2\x82"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(Quoted("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(Quoted("\xED\xA0\x80").find("\xED"), std::string::npos);
  EXPECT_EQ(Quoted("\xF4\x90\x80\x80").find("\xF4"), std::string::npos);
}

// Byte-at-a-time reference for the block-wise escaper.
std::string ReferenceQuoted(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else if (c == 0xC3 && i + 1 < s.size() &&
               (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) {
      out += s.substr(i, 2);  // The only valid sequence the test uses.
      ++i;
    } else if (c >= 0x80) {
      out += "\xEF\xBF\xBD";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

TEST(JsonStringTest, BlockWiseEscapingMatchesByteWise) {
  // Every length around the 8- and 16-byte blocks, with one special byte
  // (or sequence) at every position.
  const std::string specials[] = {
      "\"", "\\", "\n", std::string(1, '\0'), "\x1f", "\xC3\xA9", "\xFF"};
  for (size_t n = 0; n <= 40; ++n) {
    const std::string plain(n, 'a');
    ASSERT_EQ(Quoted(plain), ReferenceQuoted(plain));
    for (const std::string& special : specials) {
      for (size_t pos = 0; pos < n; ++pos) {
        std::string s = plain;
        s.replace(pos, 1, special);
        ASSERT_EQ(Quoted(s), ReferenceQuoted(s)) << n << " " << pos;
        std::string w_out;
        JsonWriter w(&w_out);
        w.String(s);
        ASSERT_EQ(w_out, ReferenceQuoted(s)) << n << " " << pos;
      }
    }
  }
}

TEST(NormalizeDecimalTest, KeepsPrecision) {
  std::string out;
  const std::pair<const char*, const char*> cases[] = {
      {"5.0", "5.0"},     {"065.88", "65.88"}, {"+5", "5"},  {".5", "0.5"},
      {"-0.50", "-0.50"}, {"5.", "5"},         {"000", "0"}, {"-.25", "-0.25"},
      {"100", "100"},     {"0.001", "0.001"},
  };
  for (const auto& [in, want] : cases) {
    ASSERT_TRUE(NormalizeDecimal(in, &out)) << in;
    EXPECT_EQ(out, want) << in;
  }
}

TEST(NormalizeDecimalTest, RejectsNonNumbers) {
  std::string out = "unchanged";
  for (const char* bad :
       {"1,5", "", "-", ".", "1e5", "1.2.3", " 1", "abc", "1-2", "--1"}) {
    EXPECT_FALSE(NormalizeDecimal(bad, &out)) << bad;
  }
  EXPECT_EQ(out, "unchanged");
}

}  // namespace
}  // namespace appliance::fhir
