// The ASCII helpers: what each one accepts, folds and trims, and that none of
// them treats a byte >= 0x80 (UTF-8) as a letter, digit or space.
#include "core/strings.h"

#include <gtest/gtest.h>

namespace headcount {
namespace {

TEST(Strings, CharacterClasses) {
  for (const char c : std::string_view("0123456789")) {
    EXPECT_TRUE(IsDigit(c)) << c;
    EXPECT_TRUE(IsAlnum(c)) << c;
    EXPECT_TRUE(IsHexDigit(c)) << c;
    EXPECT_FALSE(IsAlpha(c)) << c;
  }
  for (const char c : std::string_view("azAZmQ")) {
    EXPECT_TRUE(IsAlpha(c)) << c;
    EXPECT_TRUE(IsAlnum(c)) << c;
    EXPECT_FALSE(IsDigit(c)) << c;
  }
  for (const char c : std::string_view("afAF")) EXPECT_TRUE(IsHexDigit(c)) << c;
  for (const char c : std::string_view("gG:/-_.")) EXPECT_FALSE(IsHexDigit(c)) << c;
  for (const char c : std::string_view(" \t\r\n")) EXPECT_TRUE(IsSpace(c));
  for (const char c : std::string_view("\v\fx-")) EXPECT_FALSE(IsSpace(c));
  for (const char c : std::string_view("/:@[`{\x7f")) {
    EXPECT_FALSE(IsAlnum(c)) << c;
  }
  // UTF-8 bytes ("é" is C3 A9; a signed char on this platform).
  for (const char c : std::string_view("\xc3\xa9\xa0\x85")) {
    EXPECT_FALSE(IsAlnum(c));
    EXPECT_FALSE(IsSpace(c));
    EXPECT_FALSE(IsHexDigit(c));
  }
}

TEST(Strings, IsAllDigitsNeedsAtLeastOneDigit) {
  EXPECT_TRUE(IsAllDigits("0"));
  EXPECT_TRUE(IsAllDigits("20261205"));
  EXPECT_FALSE(IsAllDigits(""));
  EXPECT_FALSE(IsAllDigits("12a"));
  EXPECT_FALSE(IsAllDigits("-1"));
  EXPECT_FALSE(IsAllDigits(" 1"));
}

TEST(Strings, AsciiLowerFoldsOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower('A'), 'a');
  EXPECT_EQ(AsciiLower('z'), 'z');
  EXPECT_EQ(AsciiLower('['), '[');
  EXPECT_EQ(AsciiLower("Content-Length: 42"), "content-length: 42");
  EXPECT_EQ(AsciiLower("\xc3\x89T\xc3\x89"), "\xc3\x89t\xc3\x89");  // "ÉTÉ": only the T
  EXPECT_EQ(AsciiLower(""), "");
}

TEST(Strings, EqualsIgnoreCase) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-type"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Type", "Content-Typ"));
  EXPECT_FALSE(EqualsIgnoreCase("a", "b"));
  EXPECT_FALSE(EqualsIgnoreCase("[", "{"));  // 0x5B and 0x7B differ by 0x20 but are not letters
}

TEST(Strings, TrimRemovesSpaceTabCrLfAtBothEnds) {
  EXPECT_EQ(Trim("  value \t\r\n"), "value");
  EXPECT_EQ(Trim("a b"), "a b");
  EXPECT_EQ(Trim(" \t\r\n"), "");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("\va\f"), "\va\f");
}

}  // namespace
}  // namespace headcount
