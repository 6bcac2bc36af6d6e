// The IVS channel directory (see ivs_channel_directory.h).
#include "ivs/ivs_channel_directory.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ivs/quoted.h"

namespace headcount {
namespace {

// A Channel.name as the IVS model allows it: ^[a-zA-Z0-9-_]*$, at most 128.
bool IsChannelName(const std::string& name) {
  return name.size() <= IvsChannelDirectory::kMaxNameLength &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

// An http(s) URL of printable ASCII with a host, as a playbackUrl is; the
// dashboard and the player page check it again before they use it.
bool IsPlaybackUrl(const std::string& url) {
  if (url.size() > IvsChannelDirectory::kMaxPlaybackUrlLength) return false;
  const bool scheme = url.starts_with("https://") || url.starts_with("http://");
  const std::size_t host = url.find("://") + 3;
  return scheme && host < url.size() && url[host] != '/' &&
         std::all_of(url.begin(), url.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

std::optional<std::string> StringMember(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

Status IvsChannelDirectory::Refresh(std::span<const ChannelId> channels, WallTime deadline) {
  const WallTime now = clock_.Now();
  // The due channels: never looked up first, then the longest ago.
  std::vector<std::pair<WallTime, ChannelId>> due;
  {
    std::lock_guard lock(mu_);
    std::unordered_set<ChannelId> seen;
    for (const ChannelId& channel : channels) {
      if (!IsIvsChannelArn(channel) || !seen.insert(channel).second) continue;
      const auto it = entries_.find(channel);
      if (it == entries_.end()) {
        due.emplace_back(WallTime::min(), channel);
      } else if (now - it->second.looked_up >= kRefreshAfter) {
        due.emplace_back(it->second.looked_up, channel);
      }
    }
  }
  if (due.empty()) return {};
  std::sort(due.begin(), due.end());
  if (due.size() > kMaxArnsPerCall) due.resize(kMaxArnsPerCall);

  nlohmann::json arns = nlohmann::json::array();
  std::unordered_set<ChannelId> asked;
  for (const auto& [at, channel] : due) {
    arns.push_back(channel);
    asked.insert(channel);
  }
  Result<nlohmann::json> answer = client_.Call("BatchGetChannel", {{"arns", arns}}, deadline);
  if (!answer.ok()) return answer.error();
  if (!answer->is_object()) return Error::Rejected("ivs: BatchGetChannel answer is not an object");

  std::unordered_map<ChannelId, std::optional<ChannelDetails>> learned;
  if (const auto list = answer->find("channels"); list != answer->end() && list->is_array()) {
    for (const nlohmann::json& channel : *list) {
      if (!channel.is_object()) continue;
      const auto arn = StringMember(channel, "arn");
      if (!arn || !asked.contains(*arn)) {
        spdlog::warn("ivs: BatchGetChannel answered for a channel not asked for, dropped: {}",
                     Quoted(channel.value("arn", nlohmann::json())));
        continue;
      }
      ChannelDetails details;
      if (auto name = StringMember(channel, "name"); name && IsChannelName(*name)) {
        details.name = std::move(*name);
      } else if (channel.contains("name")) {
        spdlog::warn("ivs: {}: name {} is not a channel name, dropped", *arn,
                     Quoted(channel["name"]));
      }
      if (auto url = StringMember(channel, "playbackUrl"); url && IsPlaybackUrl(*url)) {
        details.playback_url = std::move(*url);
      } else if (channel.contains("playbackUrl")) {
        spdlog::warn("ivs: {}: playbackUrl {} is not an http(s) URL, dropped", *arn,
                     Quoted(channel["playbackUrl"]));
      }
      learned[*arn] = std::move(details);
    }
  }
  if (const auto errors = answer->find("errors"); errors != answer->end() && errors->is_array()) {
    for (const nlohmann::json& error : *errors) {
      const auto arn = error.is_object() ? StringMember(error, "arn") : std::nullopt;
      if (!arn || !asked.contains(*arn)) continue;
      spdlog::info("ivs: BatchGetChannel knows no {}: {}", *arn,
                   Quoted(error.value("code", nlohmann::json())));
      learned.try_emplace(*arn, std::nullopt);
    }
  }
  std::lock_guard lock(mu_);
  for (auto& [arn, details] : learned) entries_[arn] = Entry{now, std::move(details)};
  return {};
}

std::optional<ChannelDetails> IvsChannelDirectory::Find(const ChannelId& channel) const {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(channel);
  if (it == entries_.end()) return std::nullopt;
  return it->second.details;
}

}  // namespace headcount
