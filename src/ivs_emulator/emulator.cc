// IvsEmulator: request dispatch and the four IVS operations. The test
// endpoints are in test_api.cc. Thread-safe: state is guarded by mu_.
#include "ivs_emulator/emulator.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/strings.h"
#include "core/time_text.h"
#include "ivs_emulator/wire.h"

namespace headcount::ivs_emulator {
namespace {

constexpr std::string_view kService = "ivs";
constexpr std::string_view kTestApiPrefix = "/_emulator/";
constexpr std::string_view kListChannels = "ListChannels";
constexpr std::string_view kListStreams = "ListStreams";
constexpr std::string_view kGetStream = "GetStream";
constexpr std::string_view kBatchGetChannel = "BatchGetChannel";
// BatchGetChannel's arns: 1 to 50 (the model's range).
constexpr std::size_t kMaxBatchGetChannelArns = 50;
constexpr std::string_view kPutMetadata = "PutMetadata";
constexpr std::string_view kUnknownOperation = "Unknown";

constexpr std::string_view kHealthEnum =
    "Member must satisfy enum value set: [HEALTHY, STARVING, UNKNOWN]";

bool IsOperation(std::string_view name) {
  return name == kListChannels || name == kListStreams || name == kGetStream ||
         name == kPutMetadata || name == kBatchGetChannel;
}

bool IsRegionName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string ValueText(std::int64_t v) { return std::to_string(v); }

// The page size: `requested` checked against the model's range, or the default.
void CheckPageSize(const std::optional<std::int64_t>& requested, Violations& violations) {
  if (!requested) return;
  const nlohmann::json value = *requested;
  if (*requested < kMinPageSize) {
    violations.Add("maxResults", &value,
                   "Member must have value greater than or equal to " + ValueText(kMinPageSize));
  } else if (*requested > kMaxPageSize) {
    violations.Add("maxResults", &value,
                   "Member must have value less than or equal to " + ValueText(kMaxPageSize));
  }
}

void CheckPageToken(const std::optional<std::string>& token, Violations& violations) {
  if (!token) return;
  const nlohmann::json value = *token;
  if (token->size() > kMaxPaginationTokenLength) {
    violations.Add("nextToken", &value,
                   "Member must have length less than or equal to " +
                       std::to_string(kMaxPaginationTokenLength));
  } else if (!IsPaginationToken(*token)) {
    violations.Add(
        "nextToken", &value,
        "Member must satisfy regular expression pattern: " + std::string(kPaginationTokenPattern));
  }
}

// channelArn: required, 1-128 characters, the ChannelArn pattern.
std::optional<std::string> ReadChannelArn(const nlohmann::json& body, Violations& violations) {
  auto arn = ReadString(body, "channelArn", violations);
  if (!arn) {
    if (!body.contains("channelArn") || body["channelArn"].is_null()) {
      violations.Add("channelArn", nullptr, "Member must not be null");
    }
    return std::nullopt;
  }
  const nlohmann::json value = *arn;
  if (arn->empty()) {
    violations.Add("channelArn", &value, "Member must have length greater than or equal to 1");
  } else if (arn->size() > kMaxArnLength) {
    violations.Add(
        "channelArn", &value,
        "Member must have length less than or equal to " + std::to_string(kMaxArnLength));
  } else if (!IsChannelArn(*arn)) {
    violations.Add(
        "channelArn", &value,
        "Member must satisfy regular expression pattern: " + std::string(kChannelArnPattern));
  } else {
    return arn;
  }
  return std::nullopt;
}

// An optional filter ARN of `resource` type (empty allowed), at most 128 characters.
std::optional<std::string> ReadFilterArn(const nlohmann::json& body, std::string_view member,
                                         std::string_view resource, Violations& violations) {
  auto arn = ReadString(body, member, violations);
  if (!arn) return std::nullopt;
  const nlohmann::json value = *arn;
  if (arn->size() > kMaxArnLength) {
    violations.Add(
        member, &value,
        "Member must have length less than or equal to " + std::to_string(kMaxArnLength));
    return std::nullopt;
  }
  if (!IsOptionalIvsArn(*arn, resource)) {
    violations.Add(member, &value,
                   "Member must satisfy regular expression pattern: ^^$|^arn:aws:ivs:[a-z0-9-]+:"
                   "[0-9]+:" +
                       std::string(resource) + "/[a-zA-Z0-9-]+$$");
    return std::nullopt;
  }
  return arn;
}

nlohmann::json ChannelSummaryJson(const Channel& c) {
  return {{"arn", c.arn},
          {"name", c.name},
          {"latencyMode", "LOW"},
          {"authorized", false},
          {"recordingConfigurationArn", ""},
          {"tags", c.tags},
          {"insecureIngest", false},
          {"type", "STANDARD"},
          {"preset", ""},
          {"playbackRestrictionPolicyArn", ""}};
}

std::string StartTimeText(WallTime t) {
  return FormatRfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

// "5", "0.5": a quota as the user gave it.
std::string RateText(double rate) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, rate);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

// "00000000-0000-4000-8000-00000000002a": a UUID-shaped request id from a counter.
std::string RequestId(std::uint64_t n) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string tail(12, '0');
  for (std::size_t i = tail.size(); i-- > 0 && n != 0; n >>= 4) tail[i] = kHex[n & 0xF];
  return "00000000-0000-4000-8000-" + tail;
}

}  // namespace

Status EmulatorOptions::Validate() const {
  if (!IsRegionName(channels.region)) {
    return Error::InvalidArgument("region must be a region name like us-west-2, not '" +
                                  channels.region + "'");
  }
  if (!IsAllDigits(channels.account_id)) {
    return Error::InvalidArgument("account id must be digits, not '" + channels.account_id + "'");
  }
  if (access_key_id.empty() || access_key_id.find_first_of("/ ,=") != std::string::npos) {
    return Error::InvalidArgument("access key id must be non-empty, without '/', ' ', ',' or '='");
  }
  if (secret_access_key.empty()) return Error::InvalidArgument("secret access key is empty");
  if (channels.count > kMaxChannels) {
    return Error::InvalidArgument("at most " + std::to_string(kMaxChannels) + " channels");
  }
  if (!(channels.offline_fraction >= 0.0 && channels.offline_fraction <= 1.0)) {
    return Error::InvalidArgument("offline fraction must be between 0 and 1");
  }
  for (const double rate : {put_metadata_tps_per_channel, put_metadata_tps_per_account}) {
    if (!std::isfinite(rate) || rate < 0) {
      return Error::InvalidArgument("PutMetadata quotas must be >= 0 (0 disables)");
    }
  }
  if (metadata_log_capacity == 0) {
    return Error::InvalidArgument("metadata log capacity must be at least 1");
  }
  if (channels.viewers.kind == ViewerModel::Kind::kScript && channels.viewers.script.empty()) {
    return Error::InvalidArgument("viewer script is empty");
  }
  return {};
}

IvsEmulator::IvsEmulator(EmulatorOptions options, const Clock& clock)
    : options_(std::move(options)),
      verifier_{options_.access_key_id, options_.secret_access_key, options_.channels.region,
                std::string(kService)},
      clock_(clock),
      playback_(options_.playback_dir.empty() ? nullptr
                                              : std::make_unique<Playback>(options_.playback_dir)),
      account_bucket_(options_.put_metadata_tps_per_account,
                      options_.put_metadata_tps_per_account) {
  std::lock_guard lock(mu_);
  ResetLocked(clock_.Now());
}

void IvsEmulator::ResetLocked(WallTime now) {
  channels_ = std::make_unique<ChannelSet>(options_.channels, now);
  account_bucket_ =
      TokenBucket(options_.put_metadata_tps_per_account, options_.put_metadata_tps_per_account);
  channel_buckets_.clear();
  metadata_log_.clear();
  metadata_dropped_ = 0;
  operation_stats_.clear();
  throttled_ = 0;
  auth_failures_ = 0;
}

HttpResponse IvsEmulator::Handle(const HttpRequest& request) {
  if (request.path.substr(0, kTestApiPrefix.size()) == kTestApiPrefix) {
    return HandleTestApi(request);
  }
  if (playback_ && request.path.starts_with(kPlaybackPrefix)) {
    const std::string id = Playback::ChannelIdOf(request.path);
    bool live = false;
    {
      std::lock_guard lock(mu_);
      const auto index = id.empty() ? std::nullopt : channels_->FindById(id);
      live = index && channels_->at(*index).live;
    }
    return playback_->Handle(request, id, live);
  }
  const std::string name = request.path.size() > 1 ? request.path.substr(1) : std::string();
  const std::string operation =
      request.method == "POST" && IsOperation(name) ? name : std::string(kUnknownOperation);
  HttpResponse response = HandleIvs(request, operation);
  std::lock_guard lock(mu_);
  OperationStats& stats = operation_stats_[operation];
  ++stats.requests;
  if (response.status >= 400) ++stats.errors;
  response.headers.emplace_back("x-amzn-RequestId", RequestId(++request_counter_));
  return response;
}

HttpResponse IvsEmulator::HandleIvs(const HttpRequest& request, const std::string& operation) {
  const WallTime now = clock_.Now();
  // Verified before anything else, without the lock (it is the costly part).
  if (const auto failure = VerifySigV4(request, verifier_, now)) {
    std::lock_guard lock(mu_);
    ++auth_failures_;
    return AuthError(*failure);
  }
  if (operation == kUnknownOperation) {
    return IvsError(404, "UnknownOperationException",
                    "The emulator does not implement " + request.method + " " + request.path);
  }

  RequestBody body;
  if (!request.body.empty()) {
    body.json = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.json.is_discarded() || !body.json.is_object()) {
      return IvsError(
          400, "SerializationException",
          "The request body is not a JSON object: cannot deserialize " + operation + "Request");
    }
  }

  std::lock_guard lock(mu_);
  if (operation == kListChannels) return ListChannels(body);
  if (operation == kListStreams) return ListStreams(body, now);
  if (operation == kGetStream) return GetStream(body, now, request.Header("host").value_or(""));
  if (operation == kBatchGetChannel) {
    return BatchGetChannel(body, request.Header("host").value_or(""));
  }
  return PutMetadata(body, now);
}

HttpResponse IvsEmulator::ListChannels(const RequestBody& body) {
  Violations violations;
  const auto name = ReadString(body.json, "filterByName", violations);
  if (name) {
    const nlohmann::json value = *name;
    if (name->size() > kMaxChannelNameLength) {
      violations.Add(
          "filterByName", &value,
          "Member must have length less than or equal to " + std::to_string(kMaxChannelNameLength));
    } else if (!IsChannelName(*name)) {
      violations.Add(
          "filterByName", &value,
          "Member must satisfy regular expression pattern: " + std::string(kChannelNamePattern));
    }
  }
  const auto recording = ReadFilterArn(body.json, "filterByRecordingConfigurationArn",
                                       "recording-configuration", violations);
  const auto restriction = ReadFilterArn(body.json, "filterByPlaybackRestrictionPolicyArn",
                                         "playback-restriction-policy", violations);
  const auto ad =
      ReadFilterArn(body.json, "filterByAdConfigurationArn", "ad-configuration", violations);
  const auto token = ReadString(body.json, "nextToken", violations);
  CheckPageToken(token, violations);
  const auto max_results = ReadInteger(body.json, "maxResults", violations);
  CheckPageSize(max_results, violations);
  if (!violations.empty()) return IvsError(400, "ValidationException", violations.Message());

  const auto set = [](const std::optional<std::string>& f) { return f && !f->empty(); };
  const int filters = set(name) + set(recording) + set(restriction) + set(ad);
  if (filters > 1) {
    return IvsError(409, "ConflictException",
                    "Only one filter may be used: filterByName, filterByRecordingConfigurationArn, "
                    "filterByPlaybackRestrictionPolicyArn or filterByAdConfigurationArn");
  }
  std::size_t index = 0;
  if (set(token)) {
    const auto decoded = DecodePageToken(kListChannels, *token);
    if (!decoded || *decoded > channels_->size()) {
      return IvsError(400, "ValidationException", "The nextToken is not valid for ListChannels");
    }
    index = *decoded;
  }
  // The emulated channels have no recording configuration, playback
  // restriction policy or ad configuration: those filters match nothing.
  const bool matches_none = set(recording) || set(restriction) || set(ad);
  const auto matches = [&](const Channel& c) {
    return !matches_none && (!set(name) || c.name == *name);
  };
  const auto page_size = static_cast<std::size_t>(max_results.value_or(kDefaultPageSize));

  nlohmann::json channels = nlohmann::json::array();
  for (; index < channels_->size() && channels.size() < page_size; ++index) {
    const Channel& c = channels_->at(index);
    if (matches(c)) channels.push_back(ChannelSummaryJson(c));
  }
  nlohmann::json out = {{"channels", std::move(channels)}};
  // A token only when another match follows, so the last page has none.
  for (std::size_t next = index; next < channels_->size(); ++next) {
    if (matches(channels_->at(next))) {
      out["nextToken"] = EncodePageToken(kListChannels, next);
      break;
    }
  }
  return IvsJson(out);
}

HttpResponse IvsEmulator::ListStreams(const RequestBody& body, WallTime now) {
  Violations violations;
  std::optional<StreamHealth> health;
  const auto filter = body.json.find("filterBy");
  if (filter != body.json.end() && !filter->is_null()) {
    if (!filter->is_object()) {
      violations.Add("filterBy", &*filter, "Member must be of type structure");
    } else if (const auto name = ReadString(*filter, "health", violations)) {
      health = ParseStreamHealth(*name);
      const nlohmann::json value = *name;
      if (!health) violations.Add("filterBy.health", &value, kHealthEnum);
    }
  }
  const auto token = ReadString(body.json, "nextToken", violations);
  CheckPageToken(token, violations);
  const auto max_results = ReadInteger(body.json, "maxResults", violations);
  CheckPageSize(max_results, violations);
  if (!violations.empty()) return IvsError(400, "ValidationException", violations.Message());

  std::size_t index = 0;
  if (token && !token->empty()) {
    const auto decoded = DecodePageToken(kListStreams, *token);
    if (!decoded || *decoded > channels_->size()) {
      return IvsError(400, "ValidationException", "The nextToken is not valid for ListStreams");
    }
    index = *decoded;
  }
  const auto matches = [&](const Channel& c) { return c.live && (!health || c.health == *health); };
  const auto page_size = static_cast<std::size_t>(max_results.value_or(kDefaultPageSize));

  nlohmann::json streams = nlohmann::json::array();
  for (; index < channels_->size() && streams.size() < page_size; ++index) {
    const Channel& c = channels_->at(index);
    if (!matches(c)) continue;
    streams.push_back({{"channelArn", c.arn},
                       {"streamId", c.stream_id},
                       {"state", "LIVE"},
                       {"health", StreamHealthName(c.health)},
                       {"viewerCount", channels_->Viewers(index, now)},
                       {"startTime", StartTimeText(c.stream_start)}});
  }
  nlohmann::json out = {{"streams", std::move(streams)}};
  for (std::size_t next = index; next < channels_->size(); ++next) {
    if (matches(channels_->at(next))) {
      out["nextToken"] = EncodePageToken(kListStreams, next);
      break;
    }
  }
  return IvsJson(out);
}

HttpResponse IvsEmulator::GetStream(const RequestBody& body, WallTime now,
                                    const std::string& host) {
  Violations violations;
  const auto arn = ReadChannelArn(body.json, violations);
  if (!violations.empty()) return IvsError(400, "ValidationException", violations.Message());
  const auto index = channels_->FindByArn(*arn);
  if (!index) {
    return IvsError(404, "ResourceNotFoundException", "Channel not found: " + *arn);
  }
  const Channel& c = channels_->at(*index);
  if (!c.live) {
    return IvsError(404, "ChannelNotBroadcasting", "Channel is not broadcasting: " + *arn);
  }
  const std::string playback_url =
      playback_ && !host.empty() ? Playback::UrlFor(host, c.id) : c.playback_url;
  return IvsJson({{"stream",
                   {{"channelArn", c.arn},
                    {"streamId", c.stream_id},
                    {"playbackUrl", playback_url},
                    {"startTime", StartTimeText(c.stream_start)},
                    {"state", "LIVE"},
                    {"health", StreamHealthName(c.health)},
                    {"viewerCount", channels_->Viewers(*index, now)}}}});
}

// The whole Channel of each ARN (its summary, playbackUrl and
// ingestEndpoint); unknown ARNs in `errors`, as IVS reports them.
HttpResponse IvsEmulator::BatchGetChannel(const RequestBody& body, const std::string& host) {
  Violations violations;
  const nlohmann::json* arns = body.json.contains("arns") ? &body.json["arns"] : nullptr;
  if (arns == nullptr || arns->is_null()) {
    violations.Add("arns", nullptr, "Member must not be null");
  } else if (!arns->is_array()) {
    violations.Add("arns", arns, "Member must be a list");
  } else if (arns->empty() || arns->size() > kMaxBatchGetChannelArns) {
    violations.Add(
        "arns", arns,
        "Member must have length between 1 and " + std::to_string(kMaxBatchGetChannelArns));
  } else {
    for (const nlohmann::json& arn : *arns) {
      if (!arn.is_string() || arn.get_ref<const std::string&>().size() > kMaxArnLength ||
          !IsChannelArn(arn.get_ref<const std::string&>())) {
        violations.Add(
            "arns", &arn,
            "Member must satisfy regular expression pattern: " + std::string(kChannelArnPattern));
        break;
      }
    }
  }
  if (!violations.empty() || arns == nullptr) {
    return IvsError(400, "ValidationException", violations.Message());
  }

  nlohmann::json channels = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  for (const nlohmann::json& value : *arns) {
    const auto& arn = value.get_ref<const std::string&>();
    const auto index = channels_->FindByArn(arn);
    if (!index) {
      errors.push_back({{"arn", arn},
                        {"code", "ResourceNotFoundException"},
                        {"message", "Channel not found: " + arn}});
      continue;
    }
    const Channel& c = channels_->at(*index);
    nlohmann::json channel = ChannelSummaryJson(c);
    channel["playbackUrl"] =
        playback_ && !host.empty() ? Playback::UrlFor(host, c.id) : c.playback_url;
    channel["ingestEndpoint"] = c.id + ".global-contribute.live-video.net";
    channels.push_back(std::move(channel));
  }
  return IvsJson({{"channels", std::move(channels)}, {"errors", std::move(errors)}});
}

HttpResponse IvsEmulator::PutMetadata(const RequestBody& body, WallTime now) {
  Violations violations;
  const auto arn = ReadChannelArn(body.json, violations);
  const auto metadata = ReadString(body.json, "metadata", violations, /*sensitive=*/true);
  if (!metadata) {
    if (!body.json.contains("metadata") || body.json["metadata"].is_null()) {
      violations.Add("metadata", nullptr, "Member must not be null", /*sensitive=*/true);
    }
  } else if (metadata->empty()) {
    violations.Add("metadata", nullptr, "Member must have length greater than or equal to 1",
                   /*sensitive=*/true);
  } else if (metadata->size() > kMaxMetadataBytes) {
    violations.Add("metadata", nullptr,
                   "Member must have size less than or equal to " +
                       std::to_string(kMaxMetadataBytes) + " bytes (UTF-8), not " +
                       std::to_string(metadata->size()),
                   /*sensitive=*/true);
  }
  if (!violations.empty()) return IvsError(400, "ValidationException", violations.Message());

  const auto index = channels_->FindByArn(*arn);
  if (!index) return IvsError(404, "ResourceNotFoundException", "Channel not found: " + *arn);

  // Both quotas must allow the call; a throttled call takes no token.
  TokenBucket& channel_bucket = channel_buckets_
                                    .try_emplace(*index, options_.put_metadata_tps_per_channel,
                                                 options_.put_metadata_tps_per_channel)
                                    .first->second;
  const bool account_ok = account_bucket_.CanTake(now);
  if (!account_ok || !channel_bucket.CanTake(now)) {
    ++throttled_;
    const std::string rate = RateText(account_ok ? options_.put_metadata_tps_per_channel
                                                 : options_.put_metadata_tps_per_account);
    return IvsError(429, "ThrottlingException",
                    "Rate exceeded: PutMetadata is limited to " + rate +
                        " requests per second per " + (account_ok ? "channel" : "account"));
  }
  account_bucket_.TryTake(now);
  channel_bucket.TryTake(now);

  const Channel& c = channels_->at(*index);
  if (!c.live) {
    return IvsError(404, "ChannelNotBroadcasting", "Channel is not broadcasting: " + *arn);
  }
  metadata_log_.push_back({c.arn, *metadata, now});
  if (playback_) playback_->OnMetadata(c.id, *metadata);
  if (metadata_log_.size() > options_.metadata_log_capacity) {
    metadata_log_.pop_front();
    ++metadata_dropped_;
  }
  return HttpResponse::Json(204, "");  // the model's PutMetadata answers 204, no body
}

std::vector<MetadataRecord> IvsEmulator::Metadata(const std::string& channel_arn) const {
  std::lock_guard lock(mu_);
  std::vector<MetadataRecord> out;
  for (const auto& record : metadata_log_) {
    if (channel_arn.empty() || record.channel_arn == channel_arn) out.push_back(record);
  }
  return out;
}

std::vector<std::string> IvsEmulator::ChannelArns() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(channels_->size());
  for (std::size_t i = 0; i < channels_->size(); ++i) out.push_back(channels_->at(i).arn);
  return out;
}

}  // namespace headcount::ivs_emulator
