#include "core/payload.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/time_text.h"

namespace headcount {
namespace {
// A bucket longer than a day is not a minute counter.
constexpr std::uint64_t kMaxBucketSeconds = 86'400;
}  // namespace

std::string EncodePayloadV1(const Summary& s) {
  // Written by hand: fixed shape, no escaping needed (no free text), and it
  // is on the per-channel hot path of every tick.
  std::string out;
  out.reserve(128);
  out += R"({"v":1,"at":")";
  out += FormatRfc3339(s.at);
  out += R"(","i":)";
  out += std::to_string(s.bucket_length.count());
  out += R"(,"m":[)";
  for (std::size_t i = 0; i < s.counts.size(); ++i) {
    if (i != 0) out += ',';
    out += s.counts[i] ? std::to_string(*s.counts[i]) : "null";
  }
  out += R"(],"trend":")";
  out += TrendName(s.trend);
  out += R"("})";
  return out;
}

std::string EncodePayloadSeed(const Summary& s) {
  std::string out;
  for (std::size_t i = s.counts.size(); i-- > 0;) {
    if (s.counts[i]) out += std::to_string(*s.counts[i]);
    if (i != 0) out += ',';
  }
  return out;
}

Result<Summary> DecodePayloadV1(std::string_view json) {
  if (json.size() > kMaxPayloadBytes) return Error::InvalidArgument("payload over 1024 bytes");
  const auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Error::InvalidArgument("payload is not a JSON object");
  for (const auto& [key, _] : doc.items()) {
    if (key != "v" && key != "at" && key != "i" && key != "m" && key != "trend") {
      return Error::InvalidArgument("unknown payload field \"" + key + "\"");
    }
  }
  if (!doc.contains("v") || doc["v"] != 1) return Error::InvalidArgument("payload v is not 1");
  Summary s;
  if (!doc.contains("at") || !doc["at"].is_string()) {
    return Error::InvalidArgument("payload at is not a string");
  }
  auto at = ParseRfc3339(doc["at"].get<std::string>());
  if (!at.ok()) return at.error();
  s.at = std::chrono::floor<std::chrono::seconds>(*at);
  if (!doc.contains("i") || !doc["i"].is_number_unsigned() || doc["i"].get<std::uint64_t>() < 1 ||
      doc["i"].get<std::uint64_t>() > kMaxBucketSeconds) {
    return Error::InvalidArgument("payload i is not a positive integer");
  }
  s.bucket_length = std::chrono::seconds{doc["i"].get<std::int64_t>()};
  const auto& m = doc.contains("m") ? doc["m"] : nlohmann::json();
  if (!m.is_array() || m.size() != kWindowBuckets) {
    return Error::InvalidArgument("payload m is not an array of 5");
  }
  for (std::size_t i = 0; i < kWindowBuckets; ++i) {
    if (m[i].is_null()) continue;
    if (!m[i].is_number_unsigned() ||
        m[i].get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
      return Error::InvalidArgument("payload m holds something other than a count or null");
    }
    s.counts[i] = m[i].get<std::int64_t>();
  }
  const auto& trend = doc.contains("trend") ? doc["trend"] : nlohmann::json();
  if (!trend.is_string()) return Error::InvalidArgument("payload trend is not a string");
  const auto name = trend.get<std::string>();
  if (name == "rising") {
    s.trend = Trend::kRising;
  } else if (name == "falling") {
    s.trend = Trend::kFalling;
  } else if (name == "steady") {
    s.trend = Trend::kSteady;
  } else if (name == "unknown") {
    s.trend = Trend::kUnknown;
  } else {
    return Error::InvalidArgument("payload trend \"" + name.substr(0, 32) + "\" is unknown");
  }
  return s;
}

}  // namespace headcount
