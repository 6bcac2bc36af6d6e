#include "cli/config_values.h"

#include <sstream>
#include <string_view>
#include <utility>

#include "core/time_text.h"

namespace headcount::config_internal {

using std::chrono::seconds;

Result<seconds> WholeSeconds(const std::string& text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.error();
  if (d->count() % 1000 != 0) return Error::InvalidArgument("must be whole seconds, got " + text);
  return std::chrono::duration_cast<seconds>(*d);
}

Result<seconds> SecondsBetween(const std::string& text, seconds min, seconds max) {
  auto s = WholeSeconds(text);
  if (!s.ok()) return s.error();
  if (*s < min || *s > max) {
    return Error::InvalidArgument("must be between " + FormatDuration(min) + " and " +
                                  FormatDuration(max) + ", got " + text);
  }
  return *s;
}

Result<bool> ParseBool(const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return Error::InvalidArgument("\"" + v + "\" is not true or false");
}

Result<bool> ParseOnOff(const std::string& v) {
  if (v == "on" || v == "off") return v == "on";
  auto b = ParseBool(v);
  if (!b.ok()) return Error::InvalidArgument("\"" + v + "\" is not on or off");
  return *b;
}

Result<double> ParseNumber(const std::string& v, double min, double max) {
  const auto n = ParseWhole<double>(v);
  if (!n || !(*n >= min && *n <= max)) {
    return Error::InvalidArgument("\"" + v + "\" is not a number from " +
                                  std::to_string(static_cast<long long>(min)) + " to " +
                                  std::to_string(static_cast<long long>(max)));
  }
  return *n;
}

std::string Range(seconds min, seconds max) {
  return FormatDuration(min) + " to " + FormatDuration(max);
}

std::string ShowBool(bool b) { return b ? "true" : "false"; }

std::string ShowNumber(double n) {
  std::ostringstream out;
  out << n;  // 155, 5, 0.5
  return out.str();
}

std::string ShowSize(std::size_t bytes) {
  if (bytes != 0 && bytes % (1U << 30) == 0) return std::to_string(bytes >> 30) + "GB";
  if (bytes != 0 && bytes % (1U << 20) == 0) return std::to_string(bytes >> 20) + "MB";
  if (bytes != 0 && bytes % (1U << 10) == 0) return std::to_string(bytes >> 10) + "KB";
  return std::to_string(bytes);
}

Result<std::size_t> ParseSize(const std::string& v, std::size_t max) {
  std::string digits = v;
  std::size_t unit = 1;
  for (const auto& [suffix, factor] : {std::pair<std::string_view, std::size_t>{"KB", 1U << 10},
                                       {"MB", 1U << 20},
                                       {"GB", 1U << 30}}) {
    if (v.ends_with(suffix)) {
      digits = v.substr(0, v.size() - suffix.size());
      unit = factor;
    }
  }
  const auto n = ParseWhole<unsigned long long>(digits);
  if (!n || *n > max / unit) {
    return Error::InvalidArgument("\"" + v + "\" is not a size like 256MB, from 0 to " +
                                  ShowSize(max));
  }
  return static_cast<std::size_t>(*n) * unit;
}

}  // namespace headcount::config_internal
