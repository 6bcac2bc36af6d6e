// IvsSource: ListStreams pages -> validated readings (+ GetStream for -1,
// + ListChannels for offline channels). Thread-safe (see the header).
#include "ivs/ivs_source.h"

#include <spdlog/spdlog.h>

#include <limits>
#include <optional>
#include <unordered_set>
#include <utility>

#include "aws/pagination.h"
#include "ivs/quoted.h"

namespace headcount {
namespace {

// A viewer count as IVS sends it: -1 (unknown) or 0..kMaxPlausibleViewers.
// nullopt for anything else (wrong type, absurd value).
std::optional<std::int64_t> ViewerCount(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(kMaxPlausibleViewers)) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v < -1 || v > kMaxPlausibleViewers) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

constexpr std::int64_t kUnknownViewers = -1;

}  // namespace

// What one Poll has gathered so far.
struct IvsSource::PollState {
  std::vector<ChannelReading> readings;
  std::unordered_set<std::string> seen;
  int bad_entries = 0;

  // Logs the first kMaxEntryWarningsPerPoll warnings of a Poll.
  template <typename... Args>
  void Warn(spdlog::format_string_t<Args...> format, Args&&... args) {
    if (++bad_entries <= kMaxEntryWarningsPerPoll) {
      spdlog::warn(format, std::forward<Args>(args)...);
    }
  }
};

IvsSource::IvsSource(aws::AwsClient& client, const Clock& clock, IvsOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {}

template <typename OnEntry>
Status IvsSource::ReadPages(std::string_view operation, std::string_view list_field,
                            WallTime deadline, const OnEntry& on_entry) {
  const std::string op(operation);
  // IVS gives at most kIvsListPageSize entries a page; an answer with more
  // is held to the same total.
  const aws::PageLimits limits{
      .max_pages = options_.max_list_pages,
      .max_items = static_cast<std::size_t>(options_.max_list_pages) * kIvsListPageSize};
  return aws::ReadAllPages(
      "ivs " + op, limits, [&](int page, const nlohmann::json& token) -> Result<aws::PageRead> {
        nlohmann::json input = {{"maxResults", kIvsListPageSize}};
        if (token.is_string()) input["nextToken"] = token;
        Result<nlohmann::json> answer = client_.Call(operation, input, deadline);
        if (!answer.ok()) {
          return Error(answer.error().code(),
                       answer.error().message() + " (page " + std::to_string(page) + ")");
        }
        const nlohmann::json& doc = *answer;
        const std::string where = "ivs " + op + " page " + std::to_string(page);
        if (!doc.is_object()) return Error::Rejected(where + ": the answer is not a JSON object");
        aws::PageRead read;
        if (const auto list = doc.find(list_field); list != doc.end() && !list->is_null()) {
          if (!list->is_array()) {
            return Error::Rejected(where + ": \"" + std::string(list_field) + "\" is not a list");
          }
          for (const nlohmann::json& entry : *list) on_entry(entry);
          read.items = list->size();
        }
        if (const auto next = doc.find("nextToken"); next != doc.end() && !next->is_null()) {
          if (!next->is_string()) return Error::Rejected(where + ": nextToken is not a string");
          read.next = *next;
        }
        return read;
      });
}

bool IvsSource::ParseStream(const nlohmann::json& entry, PollState& state, ChannelReading& out) {
  if (!entry.is_object()) {
    state.Warn("ivs: ListStreams entry is not an object, skipped: {}", Quoted(entry));
    return false;
  }
  const auto arn = entry.find("channelArn");
  if (arn == entry.end() || !arn->is_string() || !IsIvsChannelArn(arn->get<std::string>())) {
    state.Warn("ivs: ListStreams entry without a valid channelArn, skipped: {}", Quoted(entry));
    return false;
  }
  out.channel = arn->get<std::string>();
  if (const auto live = entry.find("state"); live != entry.end() && !live->is_null()) {
    if (!live->is_string()) {
      state.Warn("ivs: {}: state is not a string, skipped", out.channel);
      return false;
    }
    if (live->get<std::string>() != "LIVE") {
      spdlog::debug("ivs: {}: listed with state {}, not live", out.channel, Quoted(*live));
      return false;
    }
  }
  const auto count = entry.find("viewerCount");
  if (count == entry.end() || count->is_null()) {
    state.Warn("ivs: {}: no viewerCount, recorded as unknown", out.channel);
    out.viewers = std::nullopt;
    return true;
  }
  const std::optional<std::int64_t> viewers = ViewerCount(*count);
  if (!viewers) {
    // The channel is live and named: keep it (its bucket becomes a gap, the
    // tick reports it, GetStream may still read it), never the garbage.
    state.Warn("ivs: {}: viewerCount {} is not a count, recorded as unknown", out.channel,
               Quoted(*count));
    out.viewers = std::nullopt;
    return true;
  }
  out.viewers = *viewers == kUnknownViewers ? std::nullopt : viewers;
  return true;
}

std::optional<std::int64_t> IvsSource::RetryUnknown(const std::string& arn, WallTime deadline) {
  Result<nlohmann::json> answer = client_.Call("GetStream", {{"channelArn", arn}}, deadline);
  if (!answer.ok()) {
    spdlog::debug("ivs: GetStream {} failed: {}", arn, answer.error().ToString());
    return std::nullopt;
  }
  const nlohmann::json& doc = *answer;
  if (!doc.is_object()) return std::nullopt;
  const auto stream = doc.find("stream");
  if (stream == doc.end() || !stream->is_object()) return std::nullopt;
  const auto echoed = stream->find("channelArn");
  if (echoed != stream->end() && (!echoed->is_string() || echoed->get<std::string>() != arn)) {
    return std::nullopt;  // an answer about another channel is no answer
  }
  const auto count = stream->find("viewerCount");
  if (count == stream->end()) return std::nullopt;
  const std::optional<std::int64_t> viewers = ViewerCount(*count);
  if (!viewers || *viewers == kUnknownViewers) return std::nullopt;
  return viewers;
}

Status IvsSource::ListChannelArns(WallTime deadline, PollState& state,
                                  std::vector<std::string>& out) {
  const std::string& tag_key = options_.channel_tag_key;
  std::unordered_set<std::string> listed;
  return ReadPages("ListChannels", "channels", deadline, [&](const nlohmann::json& entry) {
    const auto arn = entry.is_object() ? entry.find("arn") : entry.end();
    if (!entry.is_object() || arn == entry.end() || !arn->is_string() ||
        !IsIvsChannelArn(arn->get<std::string>())) {
      state.Warn("ivs: ListChannels entry without a valid arn, skipped: {}", Quoted(entry));
      return;
    }
    if (!tag_key.empty()) {
      // ChannelSummary.tags: a map of strings; absent or null = no tags.
      const auto tags = entry.find("tags");
      if (tags == entry.end() || !tags->is_object()) return;
      const auto value = tags->find(tag_key);
      if (value == tags->end() || !value->is_string() ||
          value->get<std::string>() != options_.channel_tag_value) {
        return;
      }
    }
    std::string id = arn->get<std::string>();
    if (listed.insert(id).second) out.push_back(std::move(id));
  });
}

Result<std::vector<ChannelReading>> IvsSource::Poll(WallTime /*now*/,
                                                    const Deadline& tick_deadline) {
  // `now` names the tick's minute; the calls are bounded by the real clock.
  // The tick's deadline, if sooner, bounds every call and retry.
  WallTime deadline = clock_.Now() + options_.poll_timeout;
  if (tick_deadline.at() && *tick_deadline.at() < deadline) deadline = *tick_deadline.at();
  PollState state;
  // ListChannels, once read (the tag filter reads it first; include_offline
  // reads it last when the tag filter did not).
  std::optional<std::vector<std::string>> channel_list;
  std::unordered_set<std::string> tagged;
  const bool tag_filter = !options_.channel_tag_key.empty();
  auto wanted = [&](const std::string& arn) {
    return (options_.channels.empty() || options_.channels.contains(arn)) &&
           (!tag_filter || tagged.contains(arn));
  };
  try {
    if (tag_filter) {
      std::vector<std::string> arns;
      if (Status st = ListChannelArns(deadline, state, arns); !st.ok()) {
        return Error(st.error().code(),
                     "ivs: the channel tag filter needs ListChannels: " + st.error().message());
      }
      tagged.insert(arns.begin(), arns.end());
      channel_list = std::move(arns);
    }
    Status listed = ReadPages("ListStreams", "streams", deadline, [&](const nlohmann::json& entry) {
      ChannelReading reading;
      if (!ParseStream(entry, state, reading)) return;
      if (!wanted(reading.channel)) return;
      // A channel met again on a later page (the list moved
      // while we paged) keeps its first reading.
      if (!state.seen.insert(reading.channel).second) return;
      state.readings.push_back(std::move(reading));
    });
    if (!listed.ok()) return listed.error();

    int retries = 0;
    for (ChannelReading& reading : state.readings) {
      if (reading.viewers) continue;
      if (retries >= options_.max_unknown_retries || clock_.Now() >= deadline) break;
      ++retries;
      reading.viewers = RetryUnknown(reading.channel, deadline);
    }

    if (options_.include_offline && !channel_list) {
      std::vector<std::string> arns;
      if (Status st = ListChannelArns(deadline, state, arns); st.ok()) {
        channel_list = std::move(arns);
      } else {
        spdlog::warn("ivs: ListChannels failed, offline channels are left out of this tick: {}",
                     st.error().ToString());
      }
    }
    if (options_.include_offline && channel_list) {
      for (std::string& arn : *channel_list) {
        if (!wanted(arn) || state.seen.contains(arn)) continue;
        state.readings.push_back({std::move(arn), std::int64_t{0}});
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Error::Rejected(std::string("ivs: unreadable answer: ") + e.what());
  }
  if (state.bad_entries > kMaxEntryWarningsPerPoll) {
    spdlog::warn("ivs: {} bad or incomplete entries in all ({} logged)", state.bad_entries,
                 kMaxEntryWarningsPerPoll);
  }
  return std::move(state.readings);
}

}  // namespace headcount
