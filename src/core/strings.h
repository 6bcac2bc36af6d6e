// ASCII helpers for protocol text (HTTP, SigV4, URLs, INI files, playlists):
// the one home for trimming, case folding and character classes in headcount.
// Unlike <cctype> they ignore the locale and take a plain char (no cast to
// unsigned char needed); bytes >= 0x80 are never letters, digits or space.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace headcount {

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
constexpr bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// The white space of the text protocols here: space, tab, CR and LF (not
// '\v' or '\f', which none of them treats as white space).
constexpr bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// True when `s` is not empty and every character IsDigit.
constexpr bool IsAllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// 'A'..'Z' to 'a'..'z'; any other byte unchanged.
constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string AsciiLower(std::string_view s);

// Whether `a` and `b` are equal when ASCII letters are folded to lower case
// (header names, schemes, host names).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// `s` without IsSpace characters at either end.
std::string_view Trim(std::string_view s);

}  // namespace headcount
