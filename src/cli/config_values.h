// Text to value and back for the settings table (config_settings.cc): whole
// numbers, durations, booleans, sizes. Errors say why, not where; the table
// adds the setting's name. Internal to src/cli/config*.cc.
#pragma once

#include <charconv>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "core/result.h"

namespace headcount::config_internal {

// The whole of `text` as a T, or nothing (empty, trailing characters, out of
// range). No leading '+' or spaces, unlike strtol.
template <typename T>
std::optional<T> ParseWhole(const std::string& text) {
  T value{};
  const char* const last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, value);
  if (text.empty() || ec != std::errc() || end != last) return std::nullopt;
  return value;
}

// A duration ("90s", "5m") that is a whole number of seconds.
Result<std::chrono::seconds> WholeSeconds(const std::string& text);

// WholeSeconds within [min, max]; the error names the range.
Result<std::chrono::seconds> SecondsBetween(const std::string& text, std::chrono::seconds min,
                                            std::chrono::seconds max);

// true/1/yes or false/0/no.
Result<bool> ParseBool(const std::string& v);

// on or off, or what ParseBool reads (a TOML boolean arrives as true/false).
Result<bool> ParseOnOff(const std::string& v);

// A number in [min, max].
Result<double> ParseNumber(const std::string& v, double min, double max);

// A whole number of bytes with an optional unit, KB, MB or GB (powers of
// 1024), at most `max` bytes.
Result<std::size_t> ParseSize(const std::string& v, std::size_t max);

// "1s to 1h".
std::string Range(std::chrono::seconds min, std::chrono::seconds max);

std::string ShowBool(bool b);

// 155, 5, 0.5.
std::string ShowNumber(double n);

// In the largest unit that divides it: "256MB", "1GB", "1000".
std::string ShowSize(std::size_t bytes);

}  // namespace headcount::config_internal
