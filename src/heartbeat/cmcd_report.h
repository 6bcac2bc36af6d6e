// Common Media Client Data (CTA-5004-B, CMCD v2) reports as the collector
// reads them: one report is a Structured Field dictionary (RFC 8941/9651)
// of key=value pairs, and an event-mode body (media type application/cmcd)
// holds one report per line. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"

namespace headcount {

// Bounds on one report, so that a hostile line costs little: keys in one
// report (CTA-5004-B defines fewer than 60), items in one inner list.
inline constexpr std::size_t kMaxCmcdKeys = 64;
inline constexpr std::size_t kMaxCmcdListItems = 64;
// Bounds on one body: its lines (reports, valid or not), whatever its size.
inline constexpr std::size_t kMaxCmcdLinesPerBody = 64;

// A bare token (`e=ps`, `sta=p`), kept apart from a quoted string.
struct CmcdToken {
  std::string text;
  bool operator==(const CmcdToken&) const = default;
};
// A byte sequence (`:aGk=:`), kept as its base64 text.
struct CmcdBytes {
  std::string base64;
  bool operator==(const CmcdBytes&) const = default;
};
// One item: boolean (`?1`, `?0`, or a bare key: true), integer (a date,
// `@1700000000`, is its integer), decimal, string (escapes undone), token
// or byte sequence. Parameters (`;k=v`) are read and dropped: CMCD defines
// none that the collector uses.
using CmcdItem = std::variant<bool, std::int64_t, double, std::string, CmcdToken, CmcdBytes>;
// An inner list, `(500 2500)`.
struct CmcdList {
  std::vector<CmcdItem> items;
  bool operator==(const CmcdList&) const = default;
};
using CmcdValue =
    std::variant<bool, std::int64_t, double, std::string, CmcdToken, CmcdBytes, CmcdList>;

// One report: its keys in the order sent (a repeated key keeps its last
// value, in the place of its first, as RFC 8941 says).
class CmcdReport {
 public:
  // The value of `key`, or null.
  const CmcdValue* Find(std::string_view key) const;
  // The value of `key` when it is a string; nullopt otherwise.
  std::optional<std::string_view> String(std::string_view key) const;
  // The value of `key` when it is a token or a string (players differ on
  // enumerated values); nullopt otherwise.
  std::optional<std::string_view> TokenOrString(std::string_view key) const;
  // The value of `key` when it is an integer; nullopt otherwise.
  std::optional<std::int64_t> Integer(std::string_view key) const;

  const std::vector<std::pair<std::string, CmcdValue>>& fields() const { return fields_; }

 private:
  friend Result<CmcdReport> ParseCmcdReport(std::string_view line);
  std::vector<std::pair<std::string, CmcdValue>> fields_;
};

// Parses one report: `key=value` members separated by commas (spaces or
// tabs around them allowed), a bare `key` meaning true. Keys are
// lower-case as RFC 8941 has them (CMCD custom keys, `com.example-x`,
// included). Fails (InvalidArgument, saying what and where) on anything
// that is not such a dictionary, on more than kMaxCmcdKeys keys or
// kMaxCmcdListItems items in a list, and on an empty line.
[[nodiscard]] Result<CmcdReport> ParseCmcdReport(std::string_view line);

// An event-mode body: its reports, one per line (LF or CRLF; blank lines,
// such as the one after the final newline, are not lines), and how many
// lines were not reports. Lines past kMaxCmcdLinesPerBody are bad lines,
// not parsed.
struct CmcdBody {
  std::vector<CmcdReport> reports;
  std::size_t bad_lines = 0;
};
CmcdBody ParseCmcdBody(std::string_view body);

}  // namespace headcount
