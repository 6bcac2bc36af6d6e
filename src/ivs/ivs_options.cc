// IvsOptions checks and the metadata-format names.
#include "ivs/ivs_options.h"

#include <algorithm>
#include <cmath>

namespace headcount {
namespace {

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

double DefaultBurst(double account_tps) {
  return std::max(kMinBurst, account_tps * kDefaultBurstShare);
}

Status ValidateIvsOptions(const IvsOptions& options) {
  for (const std::string& arn : options.channels) {
    if (!IsIvsChannelArn(arn)) {
      return Error::InvalidArgument(
          "ivs: channel filter entry \"" + arn +
          "\" is not an IVS channel ARN "
          "(arn:<aws|aws-cn|aws-us-gov>:ivs:<region>:<account>:channel/<id>)");
    }
  }
  if (options.channel_tag_key.empty() && !options.channel_tag_value.empty()) {
    return Error::InvalidArgument("ivs: a channel tag value needs a tag key");
  }
  if (options.channel_tag_key.size() > kMaxTagKeyBytes ||
      options.channel_tag_value.size() > kMaxTagValueBytes) {
    return Error::InvalidArgument("ivs: a channel tag key has at most " +
                                  std::to_string(kMaxTagKeyBytes) + " characters, a value " +
                                  std::to_string(kMaxTagValueBytes));
  }
  if (Status s = CheckTps("account_tps", options.account_tps); !s.ok()) return s;
  if (Status s = CheckTps("channel_tps", options.channel_tps); !s.ok()) return s;
  if (options.burst && !(*options.burst >= kMinBurst && *options.burst <= kMaxTps)) {
    return Error::InvalidArgument("ivs: burst must be between 1 and " +
                                  std::to_string(static_cast<long long>(kMaxTps)));
  }
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
