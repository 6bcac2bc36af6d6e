#include "core/time_text.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <limits>

namespace headcount {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Reads exactly `n` decimal digits at `pos`, advancing it.
bool ReadDigits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool Expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

std::string FormatDate(std::chrono::sys_days day, seconds tod, const char* suffix) {
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss<seconds> hms{tod};
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d%s", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()), suffix);
  return buf.data();
}

}  // namespace

std::string FormatRfc3339(Seconds t) {
  const auto day = std::chrono::floor<days>(t);
  return FormatDate(day, t - day, "Z");
}

std::string FormatRfc3339Millis(WallTime t) {
  const auto ms = std::chrono::floor<milliseconds>(t);
  const auto day = std::chrono::floor<days>(ms);
  const auto secs = std::chrono::floor<seconds>(ms);
  std::array<char, 8> frac{};
  std::snprintf(frac.data(), frac.size(), ".%03dZ", int((ms - secs).count()));
  return FormatDate(day, secs - day, frac.data());
}

Result<WallTime> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return Error::InvalidArgument("not an RFC 3339 date-time: \"" + std::string(s.substr(0, 64)) +
                                  "\"");
  };
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!ReadDigits(s, pos, 4, y) || !Expect(s, pos, '-') || !ReadDigits(s, pos, 2, mo) ||
      !Expect(s, pos, '-') || !ReadDigits(s, pos, 2, d)) {
    return bad();
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't')) return bad();
  ++pos;
  if (!ReadDigits(s, pos, 2, h) || !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, mi) ||
      !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, sec)) {
    return bad();
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month(unsigned(mo)),
                                        std::chrono::day(unsigned(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return bad();

  // Fraction: any number of digits, kept to nanoseconds.
  std::chrono::nanoseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    std::int64_t scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac += std::chrono::nanoseconds{(s[pos] - '0') * scale};
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }

  // Offset: Z, +hh:mm, +hhmm or +hh.
  minutes offset{0};
  if (pos >= s.size()) return bad();
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!ReadDigits(s, pos, 2, oh)) return bad();
    if (pos < s.size()) {
      if (s[pos] == ':') ++pos;
      if (!ReadDigits(s, pos, 2, om)) return bad();
    }
    if (oh > 23 || om > 59) return bad();
    offset = minutes{sign * (oh * 60 + om)};
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();

  const auto local = std::chrono::sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec};
  // WallTime counts nanoseconds in 64 bits: years 1678 to 2262 only.
  constexpr std::int64_t kMaxWallSeconds =
      std::chrono::duration_cast<seconds>(WallTime::duration::max()).count() - 86'400;
  const std::int64_t secs = (local - offset).time_since_epoch().count();
  if (secs > kMaxWallSeconds || secs < -kMaxWallSeconds) {
    return Error::InvalidArgument("date-time out of range: \"" + std::string(s.substr(0, 64)) +
                                  "\"");
  }
  return WallTime{
      std::chrono::duration_cast<WallTime::duration>((local - offset).time_since_epoch() + frac)};
}

Result<milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error::InvalidArgument("\"" + std::string(text.substr(0, 64)) +
                                  "\" is not a duration like 5s, 1m, 2h or 30d (" +
                                  std::string(why) + ")");
  };
  if (text.empty()) return bad("empty");
  std::int64_t total_ms = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), n);
    if (ec != std::errc() || end == text.data() + pos) return bad("expected a number");
    if (n < 0) return bad("negative");
    pos = static_cast<std::size_t>(end - text.data());
    std::size_t unit_end = pos;
    while (unit_end < text.size() && text[unit_end] >= 'a' && text[unit_end] <= 'z') ++unit_end;
    const std::string_view unit = text.substr(pos, unit_end - pos);
    std::int64_t scale = 0;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else {
      return bad(unit.empty() ? "missing unit" : "unknown unit");
    }
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 2;
    if (n > kMax / scale || total_ms > kMax - n * scale) return bad("too large");
    total_ms += n * scale;
    pos = unit_end;
  }
  return milliseconds{total_ms};
}

std::string FormatDuration(milliseconds d) {
  if (d.count() == 0) return "0s";
  std::string out;
  auto ms = d.count();
  constexpr std::array<std::pair<std::int64_t, const char*>, 5> kUnits{
      {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}}};
  for (const auto& [scale, name] : kUnits) {
    if (ms >= scale) {
      out += std::to_string(ms / scale);
      out += name;
      ms %= scale;
    }
  }
  return out;
}

}  // namespace headcount
