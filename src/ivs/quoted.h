// A value from an AWS answer as a log line may show it: JSON text, cut short,
// never raw bytes. Internal to src/ivs.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace headcount {

inline std::string Quoted(const nlohmann::json& value) {
  constexpr std::size_t kMaxLoggedBytes = 160;
  std::string text = value.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxLoggedBytes) text = text.substr(0, kMaxLoggedBytes) + "...";
  return text;
}

}  // namespace headcount
