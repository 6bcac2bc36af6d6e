// The emulated account's channels: deterministic ids from a seed, live or
// offline, and viewer counts that follow a model (fixed, random walk, script)
// advanced by the time passed in. Not synchronized: IvsEmulator holds its lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace headcount::ivs_emulator {

// The random walk takes one step per interval of emulator time.
inline constexpr std::chrono::seconds kWalkStepInterval{10};
// A clock jump longer than this many steps applies only the last ones (so a
// test clock set years ahead cannot stall a request).
inline constexpr std::int64_t kMaxWalkCatchUpSteps = 100'000;
inline constexpr std::size_t kChannelIdLength = 12;  // like IVS: "aBcDeFgH1234"
inline constexpr std::size_t kStreamIdLength = 26;   // "st-" + 23, the model's StreamId
inline constexpr std::size_t kMaxChannels = 1'000'000;
inline constexpr std::int64_t kMaxViewers = 1'000'000'000;
// AWS tag limits: at most 50 tags per resource, keys 1-128 characters, values 0-256.
inline constexpr std::size_t kMaxTagsPerChannel = 50;
inline constexpr std::size_t kMaxTagKeyLength = 128;
inline constexpr std::size_t kMaxTagValueLength = 256;

using Tags = std::map<std::string, std::string>;

// Checks a channel's tags against the AWS limits; kInvalidArgument naming
// the first problem.
Status ValidateTags(const Tags& tags);

// Tags every N-th channel (channel-0000N, channel-2N, ...) with key=value.
// Text form (TagRule::Parse): "N:key=value", N >= 1.
struct TagRule {
  std::size_t every = 1;
  std::string key;
  std::string value;

  // kInvalidArgument naming the problem for text not of that form.
  static Result<TagRule> Parse(std::string_view spec);
};

// How live channels' viewer counts evolve. Text forms (ViewerModel::Parse):
//   "fixed:N"            every live channel has N viewers;
//   "random:START:STEP"  each channel starts at START, then every
//                        kWalkStepInterval moves by a uniform integer in
//                        [-STEP, STEP] (never below 0), from its own
//                        seed-determined random sequence;
//   "script:T=N,T=N,..." every channel has the N of the last T (seconds since
//                        start or reset) that has passed; the first N before it.
struct ViewerModel {
  enum class Kind { kFixed, kRandomWalk, kScript };
  Kind kind = Kind::kRandomWalk;
  std::int64_t fixed = 0;
  std::int64_t start = 100;
  std::int64_t step = 5;
  std::vector<std::pair<std::chrono::seconds, std::int64_t>> script;  // sorted by time

  // kInvalidArgument naming the problem for text that is none of the forms.
  static Result<ViewerModel> Parse(std::string_view spec);
};

enum class StreamHealth { kHealthy, kStarving, kUnknown };
std::string_view StreamHealthName(StreamHealth health);  // "HEALTHY", ...
std::optional<StreamHealth> ParseStreamHealth(std::string_view name);

struct Channel {
  std::string id;    // "aBcDeFgH1234"
  std::string arn;   // "arn:aws:ivs:<region>:<account>:channel/<id>"
  std::string name;  // "channel-00001"
  std::string playback_url;
  Tags tags;  // ChannelSummary.tags
  bool live = false;
  StreamHealth health = StreamHealth::kHealthy;
  std::string stream_id;  // of the current (or last) stream; "" if never live
  WallTime stream_start{};
  // Set by a test: the count reported instead of the model's (may be -1, the
  // API's "timed out, retry").
  std::optional<std::int64_t> viewers_override;

  // Random-walk state: the value after walk_step steps.
  std::int64_t walk_value = 0;
  std::int64_t walk_step = 0;
  std::uint32_t sessions = 0;  // streams started so far, for stream ids
};

struct ChannelSetOptions {
  std::size_t count = 10;
  std::string region = "us-west-2";
  std::string account_id = "123456789012";
  ViewerModel viewers;
  double offline_fraction = 0.0;  // exactly round(count * fraction) channels start offline
  std::uint64_t seed = 1;
  // Applied in order at start (and reset); a later rule may overwrite a key.
  std::vector<TagRule> tag_rules;
};

class ChannelSet {
 public:
  // Builds the channels as they are at `start`: the same options give the
  // same ids, names, states and viewer counts.
  ChannelSet(ChannelSetOptions options, WallTime start);

  std::size_t size() const { return channels_.size(); }  // NOLINT(readability-identifier-naming)
  // The channel at `index` < size().
  const Channel& at(std::size_t index) const {  // NOLINT(readability-identifier-naming)
    return channels_[index];
  }
  // Index of the channel with this ARN or id; nullopt when there is none.
  std::optional<std::size_t> FindByArn(std::string_view arn) const;
  std::optional<std::size_t> FindById(std::string_view id) const;

  // The viewer count of channel `index` at `now` (the override if set, else
  // the model's; the walk is advanced to `now`). Meaningful for live channels.
  std::int64_t Viewers(std::size_t index, WallTime now);

  // Starts (a new stream id, start time `now`) or stops a channel's stream.
  // Setting the state it already has changes nothing.
  void SetLive(std::size_t index, bool live, WallTime now);
  void SetHealth(std::size_t index, StreamHealth health) { channels_[index].health = health; }
  // Replaces a channel's tags (callers check them with ValidateTags).
  void SetTags(std::size_t index, Tags tags) { channels_[index].tags = std::move(tags); }
  void SetViewersOverride(std::size_t index, std::optional<std::int64_t> viewers) {
    channels_[index].viewers_override = viewers;
  }

 private:
  std::string NewStreamId(std::size_t index, std::uint32_t session) const;

  const ChannelSetOptions options_;
  const WallTime start_;
  std::vector<Channel> channels_;
  std::unordered_map<std::string, std::size_t> by_arn_;
  std::unordered_map<std::string, std::size_t> by_id_;
};

// SplitMix64 of the seed and up to two values: the emulator's only source of
// randomness, so runs with the same seed agree.
std::uint64_t Mix(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0);

}  // namespace headcount::ivs_emulator
