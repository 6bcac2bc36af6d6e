#include "origin/session_table.h"

#include <algorithm>
#include <cstring>

namespace headcount {

std::size_t SessionTable::KeyHash::operator()(const Key& key) const noexcept {
  std::size_t h = 0;
  std::memcpy(&h, key.data(), sizeof(h));
  return h;
}

SessionTable::SessionTable(Limits limits)
    : idle_timeouts_{limits.idle_timeout, limits.second_lane_idle_timeout},
      max_sessions_(limits.max_sessions),
      max_sessions_per_client_(limits.max_sessions_per_client) {}

void SessionTable::Unlink(Node& node) {
  Entry& e = node.second;
  (e.older != nullptr ? e.older->second.newer : oldest_[e.lane]) = e.newer;
  (e.newer != nullptr ? e.newer->second.older : newest_[e.lane]) = e.older;
  e.older = e.newer = nullptr;
}

void SessionTable::LinkNewest(Node& node) {
  Entry& e = node.second;
  Node*& newest = newest_[e.lane];
  e.older = newest;
  e.newer = nullptr;
  (newest != nullptr ? newest->second.newer : oldest_[e.lane]) = &node;
  newest = &node;
}

bool SessionTable::Refresh(const Key& key, std::string_view channel, WallTime now) {
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.channel->first != channel) return false;
  WallTime& latest = latest_[it->second.lane];
  latest = std::max(latest, now);
  it->second.last_seen = latest;
  if (newest_[it->second.lane] != &*it) {
    Unlink(*it);
    LinkNewest(*it);
  }
  return true;
}

bool SessionTable::ClientHasRoom(std::string_view client) const {
  if (client.empty() || max_sessions_per_client_ == 0) return true;
  const auto it = clients_.find(std::string(client));
  return it == clients_.end() || it->second < max_sessions_per_client_;
}

SessionTable::StartResult SessionTable::Start(const Key& key, std::string_view channel,
                                              std::string_view client, WallTime now, bool counted,
                                              std::size_t lane) {
  lane = std::min(lane, kLanes - 1);
  if (sessions_.contains(key)) {
    // Tracked for this channel: a refresh. For another (a tag valid for two
    // channels, which takes a 96-bit collision): left as it is.
    (void)Refresh(key, channel, now);
    return StartResult::kAlreadyTracked;
  }
  // Refusing costs a look at the idle sessions first: they sit at the old
  // end of the list, so this drops exactly those and stops.
  if (sessions_.size() >= max_sessions_) Expire(now);
  if (sessions_.size() >= max_sessions_) return StartResult::kTableFull;
  if (!ClientHasRoom(client)) Expire(now);
  if (!ClientHasRoom(client)) return StartResult::kClientAtCap;

  ClientCounts::value_type* held = nullptr;
  if (!client.empty() && max_sessions_per_client_ != 0) {
    held = &*clients_.try_emplace(std::string(client), 0).first;
  }
  ChannelCounts::value_type* tally = &*channels_.try_emplace(ChannelId(channel)).first;
  WallTime& latest = latest_[lane];
  latest = std::max(latest, now);
  Node& node = *sessions_
                    .try_emplace(key, Entry{.channel = tally,
                                            .client = held,
                                            .last_seen = latest,
                                            .counted = false,
                                            .lane = static_cast<std::uint8_t>(lane)})
                    .first;
  LinkNewest(node);
  ++tally->second.tracked;
  SetCounted(node, counted);
  if (held != nullptr) ++held->second;
  return StartResult::kStarted;
}

std::optional<SessionTable::Tracked> SessionTable::Find(const Key& key,
                                                        std::string_view channel) const {
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.channel->first != channel) return std::nullopt;
  return Tracked{it->second.last_seen, it->second.counted, it->second.marked};
}

void SessionTable::SetCounted(Node& node, bool counted) {
  Entry& e = node.second;
  if (e.counted == counted) return;
  e.counted = counted;
  const std::int64_t step = counted ? 1 : -1;
  e.channel->second.counted[e.lane] += step;
  counted_ = counted ? counted_ + 1 : counted_ - 1;
}

bool SessionTable::Count(const Key& key, std::string_view channel) {
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.channel->first != channel) return false;
  SetCounted(*it, true);
  return true;
}

bool SessionTable::Uncount(const Key& key, std::string_view channel) {
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.channel->first != channel) return false;
  SetCounted(*it, false);
  return true;
}

bool SessionTable::Mark(const Key& key, std::string_view channel) {
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.channel->first != channel) return false;
  it->second.marked = true;
  return true;
}

bool SessionTable::Remove(const Key& key, std::string_view channel) {
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.channel->first != channel) return false;
  Erase(*it);
  return true;
}

void SessionTable::Erase(Node& node) {
  Unlink(node);
  // Erased through iterators: erase(key) with a key that lives in the
  // element it erases is not promised to work.
  SetCounted(node, false);
  Entry& e = node.second;
  if (--e.channel->second.tracked == 0) channels_.erase(channels_.find(e.channel->first));
  if (e.client != nullptr && --e.client->second == 0) {
    clients_.erase(clients_.find(e.client->first));
  }
  sessions_.erase(sessions_.find(node.first));
}

std::size_t SessionTable::Expire(WallTime now, std::size_t limit) {
  std::size_t dropped = 0;
  for (std::size_t lane = 0; lane < kLanes; ++lane) {
    const WallTime cutoff = now - idle_timeouts_[lane];
    Node*& oldest = oldest_[lane];
    while (dropped < limit && oldest != nullptr && oldest->second.last_seen <= cutoff) {
      Erase(*oldest);
      ++dropped;
    }
  }
  return dropped;
}

std::map<ChannelId, std::int64_t> SessionTable::CountByChannel() const {
  std::map<ChannelId, std::int64_t> out;
  for (const auto& [channel, tally] : channels_) {
    std::int64_t counted = 0;
    for (const std::int64_t n : tally.counted) counted += n;
    if (counted > 0) out.emplace(channel, counted);
  }
  return out;
}

std::map<ChannelId, std::int64_t> SessionTable::CountByChannel(std::size_t lane) const {
  std::map<ChannelId, std::int64_t> out;
  if (lane >= kLanes) return out;
  for (const auto& [channel, tally] : channels_) {
    if (tally.counted[lane] > 0) out.emplace(channel, tally.counted[lane]);
  }
  return out;
}

}  // namespace headcount
