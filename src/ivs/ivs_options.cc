// IvsOptions checks and the metadata-format names.
#include "ivs/ivs_options.h"

#include <cmath>

namespace headcount {
namespace {

bool AllOf(std::string_view s, bool (*ok)(char)) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

bool IsLowerDigitDash(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

Status CheckTps(std::string_view name, double tps) {
  if (!std::isfinite(tps) || tps < 0 || tps > kMaxTps) {
    return Error::InvalidArgument("ivs: " + std::string(name) +
                                  " must be between 0 (unlimited) and " +
                                  std::to_string(static_cast<long long>(kMaxTps)));
  }
  return {};
}

}  // namespace

std::string_view MetadataFormatName(MetadataFormat format) {
  switch (format) {
    case MetadataFormat::kV1:
      return "v1";
    case MetadataFormat::kSeed:
      return "seed";
  }
  return "v1";
}

Result<MetadataFormat> ParseMetadataFormat(std::string_view text) {
  if (text == "v1") return MetadataFormat::kV1;
  if (text == "seed") return MetadataFormat::kSeed;
  return Error::InvalidArgument("ivs: metadata format \"" + std::string(text) +
                                "\" is not one of v1, seed");
}

bool IsIvsChannelArn(std::string_view arn) {
  if (arn.size() > kMaxChannelArnBytes) return false;
  // arn : partition : ivs : region : account : channel/<id>
  std::string_view parts[6];
  std::string_view rest = arn;
  for (int i = 0; i < 5; ++i) {
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return false;
    parts[i] = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
  }
  parts[5] = rest;
  constexpr std::string_view kResourcePrefix = "channel/";
  return parts[0] == "arn" && parts[1].starts_with("aws") && AllOf(parts[1], IsLowerDigitDash) &&
         parts[2] == "ivs" && AllOf(parts[3], IsLowerDigitDash) && AllOf(parts[4], IsDigit) &&
         parts[5].starts_with(kResourcePrefix) &&
         AllOf(parts[5].substr(kResourcePrefix.size()), IsIdChar);
}

Status ValidateIvsOptions(const IvsOptions& options) {
  for (const std::string& arn : options.channels) {
    if (!IsIvsChannelArn(arn)) {
      return Error::InvalidArgument("ivs: channel filter entry \"" + arn +
                                    "\" is not an IVS channel ARN "
                                    "(arn:aws:ivs:<region>:<account>:channel/<id>)");
    }
  }
  if (Status s = CheckTps("account_tps", options.account_tps); !s.ok()) return s;
  if (Status s = CheckTps("channel_tps", options.channel_tps); !s.ok()) return s;
  if (options.publish_concurrency < 1 || options.publish_concurrency > kMaxPublishConcurrency) {
    return Error::InvalidArgument("ivs: publish_concurrency must be between 1 and " +
                                  std::to_string(kMaxPublishConcurrency));
  }
  if (options.poll_timeout.count() <= 0 || options.publish_timeout.count() <= 0) {
    return Error::InvalidArgument("ivs: poll_timeout and publish_timeout must be positive");
  }
  if (options.max_list_pages < 1) {
    return Error::InvalidArgument("ivs: max_list_pages must be at least 1");
  }
  if (options.max_unknown_retries < 0) {
    return Error::InvalidArgument("ivs: max_unknown_retries must not be negative");
  }
  return {};
}

}  // namespace headcount
