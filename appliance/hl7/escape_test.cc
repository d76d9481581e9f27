#include "appliance/hl7/escape.h"

#include <string>

#include "gtest/gtest.h"

namespace appliance::hl7 {
namespace {

const Delimiters kStd;

TEST(UnescapeTest, DelimiterEscapes) {
  EXPECT_EQ(Unescape("\\F\\", kStd), "|");
  EXPECT_EQ(Unescape("\\S\\", kStd), "^");
  EXPECT_EQ(Unescape("\\T\\", kStd), "&");
  EXPECT_EQ(Unescape("\\R\\", kStd), "~");
  EXPECT_EQ(Unescape("\\E\\", kStd), "\\");
  EXPECT_EQ(Unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", kStd), "a|b^c&d~e\\f");
}

TEST(UnescapeTest, UsesTheMessagesOwnDelimiters) {
  Delimiters d;
  d.field = '#';
  d.component = '$';
  d.repetition = '*';
  d.escape = '@';
  d.subcomponent = '%';
  EXPECT_EQ(Unescape("x@F@y@S@z@T@w@R@v@E@", d), "x#y$z%w*v@");
  EXPECT_EQ(Unescape("\\F\\", d), "\\F\\");  // Not an escape here.
}

TEST(UnescapeTest, HexAndFormatting) {
  EXPECT_EQ(Unescape("\\X414243\\", kStd), "ABC");
  EXPECT_EQ(Unescape("\\X0D0A\\", kStd), "\r\n");
  EXPECT_EQ(Unescape("one\\.br\\two", kStd), "one\ntwo");
  EXPECT_EQ(Unescape("one\\.sp\\two\\.sp 2\\three", kStd), "one\ntwo\nthree");
  EXPECT_EQ(Unescape("\\.ce\\centered", kStd), "\ncentered");
  EXPECT_EQ(Unescape("a\\.fi\\b\\.nf\\c\\.in+4\\d\\.ti-2\\e\\.sk 3\\f", kStd),
            "abcdef");
  EXPECT_EQ(Unescape("\\H\\bold\\N\\ normal", kStd), "bold normal");
}

TEST(UnescapeTest, UnknownAndMalformedPassThrough) {
  EXPECT_EQ(Unescape("\\Zcustom\\", kStd), "\\Zcustom\\");
  EXPECT_EQ(Unescape("\\C2842\\text", kStd), "\\C2842\\text");
  EXPECT_EQ(Unescape("\\M2442\\", kStd), "\\M2442\\");
  EXPECT_EQ(Unescape("\\Q\\", kStd), "\\Q\\");
  EXPECT_EQ(Unescape("lone \\ escape", kStd), "lone \\ escape");
  EXPECT_EQ(Unescape("trailing\\", kStd), "trailing\\");
  EXPECT_EQ(Unescape("\\X4\\", kStd), "\\X4\\");    // Odd hex length.
  EXPECT_EQ(Unescape("\\XZZ\\", kStd), "\\XZZ\\");  // Not hex.
  EXPECT_EQ(Unescape("\\X\\", kStd), "\\X\\");      // Empty hex.
  EXPECT_EQ(Unescape("\\\\", kStd), "\\\\");        // Empty sequence.
  EXPECT_EQ(Unescape("\\.xx\\", kStd), "\\.xx\\");  // Unknown command.
  // After an unknown sequence, decoding continues normally.
  EXPECT_EQ(Unescape("\\Zab\\F\\", kStd), "\\Zab\\F\\");
  EXPECT_EQ(Unescape("\\Zab\\ \\F\\", kStd), "\\Zab\\ |");
}

TEST(UnescapeTest, NoEscapeCharacterDeclared) {
  Delimiters d;
  d.escape = '\0';
  d.subcomponent = '\0';
  EXPECT_EQ(Unescape("a\\F\\b", d), "a\\F\\b");
}

TEST(UnescapeTest, Charsets) {
  // 8859/1: bytes >= 0x80 become UTF-8.
  EXPECT_EQ(Unescape("J\xDCRGEN", kStd, Charset::kLatin1), "J\xC3\x9CRGEN");
  EXPECT_EQ(Unescape("\\XDC\\", kStd, Charset::kLatin1), "\xC3\x9C");
  // UTF-8 passes through; invalid bytes become U+FFFD.
  EXPECT_EQ(Unescape("Zo\xC3\xAB", kStd, Charset::kUtf8), "Zo\xC3\xAB");
  EXPECT_EQ(Unescape("a\xFF", kStd, Charset::kUtf8), "a\xEF\xBF\xBD");
  EXPECT_EQ(Unescape("\\XC3AB\\", kStd, Charset::kUtf8), "\xC3\xAB");
  // ASCII declared: valid UTF-8 kept, otherwise read as 8859/1.
  EXPECT_EQ(Unescape("Zo\xC3\xAB", kStd, Charset::kAscii), "Zo\xC3\xAB");
  EXPECT_EQ(Unescape("J\xDC", kStd, Charset::kAscii), "J\xC3\x9C");
}

TEST(CharsetTest, Names) {
  EXPECT_EQ(CharsetOf(""), Charset::kAscii);
  EXPECT_EQ(CharsetOf("ASCII"), Charset::kAscii);
  EXPECT_EQ(CharsetOf("8859/1"), Charset::kLatin1);
  EXPECT_EQ(CharsetOf("UNICODE UTF-8"), Charset::kUtf8);
  EXPECT_EQ(CharsetOf("UNICODE UTF-8~8859/1"), Charset::kUtf8);
  EXPECT_EQ(CharsetOf("ISO IR87"), Charset::kUnsupported);
  EXPECT_EQ(CharsetOf("8859/5"), Charset::kUnsupported);
}

TEST(EscapeTest, EncodesDelimitersAndLineBreaks) {
  EXPECT_EQ(Escape("a|b^c&d~e\\f", kStd), "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f");
  EXPECT_EQ(Escape("l1\r\nl2", kStd), "l1\\X0D\\\\X0A\\l2");
  EXPECT_EQ(Escape("plain text", kStd), "plain text");
}

TEST(EscapeTest, RoundTripsUnderAnyDelimiters) {
  Delimiters d;
  d.field = '#';
  d.component = '$';
  d.repetition = '*';
  d.escape = '@';
  d.subcomponent = '%';
  const std::string text = "weird #$*@% and |^~\\& text\r\nnext line";
  for (const Delimiters& delims : {kStd, d}) {
    const std::string enc = Escape(text, delims);
    for (char c : enc) {
      ASSERT_NE(c, delims.field);
      ASSERT_NE(c, delims.component);
      ASSERT_NE(c, delims.repetition);
      ASSERT_NE(c, delims.subcomponent);
      ASSERT_NE(c, '\r');
    }
    EXPECT_EQ(Unescape(enc, delims), text);
  }
}

TEST(Utf8Test, Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xAB\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));      // Overlong.
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));  // Surrogate.
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

}  // namespace
}  // namespace appliance::hl7
