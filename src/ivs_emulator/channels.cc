// ChannelSet and ViewerModel. Not synchronized (see channels.h).
#include "ivs_emulator/channels.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "ivs_emulator/wire.h"

namespace headcount::ivs_emulator {
namespace {

constexpr std::string_view kAlphanumeric =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::size_t kPlaybackHostPrefixLength = 12;
constexpr std::int64_t kMaxScriptPoints = 10'000;
// Initially live channels went live up to this long before the emulator started.
constexpr std::int64_t kMaxInitialStreamAgeSeconds = 3600;

// Distinct streams of random numbers drawn from the one seed.
enum Domain : std::uint64_t {
  kChannelIdDomain = 1,
  kOfflineDomain = 2,
  kWalkDomain = 3,
  kStreamIdDomain = 4,
  kStreamAgeDomain = 5,
  kPlaybackHostDomain = 6,
};

std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::string RandomText(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::size_t length,
                       std::string_view alphabet) {
  std::string out;
  out.reserve(length);
  for (std::size_t i = 0; i < length; ++i) {
    out += alphabet[Mix(seed, a, b * 1'000'003ULL + i) % alphabet.size()];
  }
  return out;
}

Result<std::int64_t> ParseCount(std::string_view text, std::string_view what) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > kMaxViewers) {
    return Error::InvalidArgument(std::string(what) + " must be an integer from 0 to " +
                                  std::to_string(kMaxViewers) + ", not '" + std::string(text) +
                                  "'");
  }
  return value;
}

}  // namespace

std::uint64_t Mix(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
  return SplitMix64(SplitMix64(SplitMix64(seed) ^ a) ^ b);
}

Result<ViewerModel> ViewerModel::Parse(std::string_view spec) {
  const auto parts = Split(spec, ':');
  ViewerModel model;
  const auto usage = [&] {
    return Error::InvalidArgument(
        "viewers: expected fixed:N, random:START:STEP or "
        "script:T=N,T=N,... (T in seconds), not '" +
        std::string(spec) + "'");
  };
  if (parts[0] == "fixed" && parts.size() == 2) {
    model.kind = Kind::kFixed;
    auto n = ParseCount(parts[1], "viewers fixed:N");
    if (!n.ok()) return n.error();
    model.fixed = *n;
    return model;
  }
  if (parts[0] == "random" && parts.size() == 3) {
    model.kind = Kind::kRandomWalk;
    auto start = ParseCount(parts[1], "viewers random:START");
    if (!start.ok()) return start.error();
    auto step = ParseCount(parts[2], "viewers random:STEP");
    if (!step.ok()) return step.error();
    model.start = *start;
    model.step = *step;
    return model;
  }
  if (parts[0] == "script" && parts.size() == 2 && !parts[1].empty()) {
    model.kind = Kind::kScript;
    for (const auto point : Split(parts[1], ',')) {
      const auto eq = point.find('=');
      if (eq == std::string_view::npos) return usage();
      auto t = ParseCount(point.substr(0, eq), "viewers script time");
      if (!t.ok()) return t.error();
      auto n = ParseCount(point.substr(eq + 1), "viewers script count");
      if (!n.ok()) return n.error();
      model.script.emplace_back(std::chrono::seconds{*t}, *n);
    }
    if (static_cast<std::int64_t>(model.script.size()) > kMaxScriptPoints) {
      return Error::InvalidArgument("viewers: a script has at most " +
                                    std::to_string(kMaxScriptPoints) + " points");
    }
    std::stable_sort(model.script.begin(), model.script.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    return model;
  }
  return usage();
}

Status ValidateTags(const Tags& tags) {
  if (tags.size() > kMaxTagsPerChannel) {
    return Error::InvalidArgument("tags: at most " + std::to_string(kMaxTagsPerChannel) +
                                  " per channel");
  }
  for (const auto& [key, value] : tags) {
    if (key.empty() || key.size() > kMaxTagKeyLength) {
      return Error::InvalidArgument("tags: a key has 1 to " + std::to_string(kMaxTagKeyLength) +
                                    " characters");
    }
    if (value.size() > kMaxTagValueLength) {
      return Error::InvalidArgument("tags: the value of '" + key + "' is longer than " +
                                    std::to_string(kMaxTagValueLength) + " characters");
    }
  }
  return {};
}

Result<TagRule> TagRule::Parse(std::string_view spec) {
  const auto usage = [&] {
    return Error::InvalidArgument("tag rule: expected N:key=value (every N-th channel), not '" +
                                  std::string(spec) + "'");
  };
  const std::size_t colon = spec.find(':');
  const std::size_t eq = spec.find('=', colon == std::string_view::npos ? 0 : colon);
  if (colon == std::string_view::npos || eq == std::string_view::npos) return usage();
  TagRule rule;
  const std::string_view n = spec.substr(0, colon);
  const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), rule.every);
  if (ec != std::errc() || end != n.data() + n.size() || rule.every < 1) return usage();
  rule.key = std::string(spec.substr(colon + 1, eq - colon - 1));
  rule.value = std::string(spec.substr(eq + 1));
  if (Status valid = ValidateTags({{rule.key, rule.value}}); !valid.ok()) return valid.error();
  return rule;
}

std::string_view StreamHealthName(StreamHealth health) {
  switch (health) {
    case StreamHealth::kHealthy:
      return "HEALTHY";
    case StreamHealth::kStarving:
      return "STARVING";
    case StreamHealth::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::optional<StreamHealth> ParseStreamHealth(std::string_view name) {
  if (name == "HEALTHY") return StreamHealth::kHealthy;
  if (name == "STARVING") return StreamHealth::kStarving;
  if (name == "UNKNOWN") return StreamHealth::kUnknown;
  return std::nullopt;
}

ChannelSet::ChannelSet(ChannelSetOptions options, WallTime start)
    : options_(std::move(options)), start_(start) {
  const std::size_t n = std::min(options_.count, kMaxChannels);
  channels_.resize(n);

  // Exactly round(n * fraction) channels start offline: those with the
  // lowest seed-determined scores.
  const double fraction = std::clamp(options_.offline_fraction, 0.0, 1.0);
  const auto offline = static_cast<std::size_t>(std::llround(static_cast<double>(n) * fraction));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return Mix(options_.seed, kOfflineDomain, a) < Mix(options_.seed, kOfflineDomain, b);
  });
  std::vector<bool> starts_offline(n, false);
  for (std::size_t i = 0; i < offline; ++i) starts_offline[order[i]] = true;

  const std::size_t width = std::max<std::size_t>(5, std::to_string(n).size());
  for (std::size_t i = 0; i < n; ++i) {
    Channel& c = channels_[i];
    // Ids are drawn again (with the next attempt number) on the rare collision.
    for (std::uint64_t attempt = 0;; ++attempt) {
      c.id = RandomText(options_.seed, kChannelIdDomain, i * 64 + attempt, kChannelIdLength,
                        kAlphanumeric);
      if (by_id_.emplace(c.id, i).second) break;
    }
    c.arn = "arn:aws:ivs:" + options_.region + ":" + options_.account_id + ":channel/" + c.id;
    by_arn_.emplace(c.arn, i);
    const std::string number = std::to_string(i + 1);
    c.name = "channel-" + std::string(width - std::min(width, number.size()), '0') + number;
    c.playback_url =
        "https://" +
        RandomText(options_.seed, kPlaybackHostDomain, i, kPlaybackHostPrefixLength, kHexDigits) +
        "." + options_.region + ".playback.live-video.net/api/video/v1/" + options_.region + "." +
        options_.account_id + ".channel." + c.id + ".m3u8";
    for (const TagRule& rule : options_.tag_rules) {
      if ((i + 1) % rule.every == 0) c.tags[rule.key] = rule.value;
    }
    c.walk_value = options_.viewers.start;
    if (!starts_offline[i]) {
      c.live = true;
      c.sessions = 1;
      c.stream_id = NewStreamId(i, c.sessions);
      const auto age = static_cast<std::int64_t>(Mix(options_.seed, kStreamAgeDomain, i) %
                                                 kMaxInitialStreamAgeSeconds);
      c.stream_start = std::chrono::floor<std::chrono::seconds>(start_) - std::chrono::seconds{age};
    }
  }
}

std::optional<std::size_t> ChannelSet::FindByArn(std::string_view arn) const {
  const auto it = by_arn_.find(std::string(arn));
  if (it == by_arn_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::size_t> ChannelSet::FindById(std::string_view id) const {
  const auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::int64_t ChannelSet::Viewers(std::size_t index, WallTime now) {
  Channel& c = channels_[index];
  if (c.viewers_override) return *c.viewers_override;
  const ViewerModel& model = options_.viewers;
  switch (model.kind) {
    case ViewerModel::Kind::kFixed:
      return model.fixed;
    case ViewerModel::Kind::kScript: {
      const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - start_);
      std::int64_t value = model.script.front().second;
      for (const auto& [t, n] : model.script) {
        if (t > elapsed) break;
        value = n;
      }
      return value;
    }
    case ViewerModel::Kind::kRandomWalk: {
      const std::int64_t target = now <= start_ ? 0 : (now - start_) / kWalkStepInterval;
      if (target <= c.walk_step) return c.walk_value;
      const std::int64_t first = std::max(c.walk_step + 1, target - kMaxWalkCatchUpSteps + 1);
      const auto span = static_cast<std::uint64_t>(2 * model.step + 1);
      for (std::int64_t k = first; k <= target; ++k) {
        const auto r = Mix(options_.seed ^ kWalkDomain, index, static_cast<std::uint64_t>(k));
        const std::int64_t delta = static_cast<std::int64_t>(r % span) - model.step;
        c.walk_value = std::clamp<std::int64_t>(c.walk_value + delta, 0, kMaxViewers);
      }
      c.walk_step = target;
      return c.walk_value;
    }
  }
  return 0;
}

void ChannelSet::SetLive(std::size_t index, bool live, WallTime now) {
  Channel& c = channels_[index];
  if (c.live == live) return;
  c.live = live;
  if (live) {
    ++c.sessions;
    c.stream_id = NewStreamId(index, c.sessions);
    c.stream_start = std::chrono::floor<std::chrono::seconds>(now);
  }
}

std::string ChannelSet::NewStreamId(std::size_t index, std::uint32_t session) const {
  return "st-" + RandomText(options_.seed, kStreamIdDomain, index * 65'536 + session,
                            kStreamIdLength - 3, kAlphanumeric);
}

}  // namespace headcount::ivs_emulator
