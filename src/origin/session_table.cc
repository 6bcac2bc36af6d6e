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
    : idle_timeout_(limits.idle_timeout),
      max_sessions_(limits.max_sessions),
      max_sessions_per_client_(limits.max_sessions_per_client) {}

void SessionTable::Unlink(Node& node) {
  Entry& e = node.second;
  (e.older != nullptr ? e.older->second.newer : oldest_) = e.newer;
  (e.newer != nullptr ? e.newer->second.older : newest_) = e.older;
  e.older = e.newer = nullptr;
}

void SessionTable::LinkNewest(Node& node) {
  Entry& e = node.second;
  e.older = newest_;
  e.newer = nullptr;
  (newest_ != nullptr ? newest_->second.newer : oldest_) = &node;
  newest_ = &node;
}

bool SessionTable::Refresh(const Key& key, std::string_view channel, WallTime now) {
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.channel->first != channel) return false;
  latest_ = std::max(latest_, now);
  it->second.last_seen = latest_;
  if (newest_ != &*it) {
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
                                              std::string_view client, WallTime now, bool counted) {
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
  latest_ = std::max(latest_, now);
  Node& node = *sessions_.try_emplace(key, Entry{tally, held, latest_, counted}).first;
  LinkNewest(node);
  ++tally->second.tracked;
  if (counted) {
    ++tally->second.counted;
    ++counted_;
  }
  if (held != nullptr) ++held->second;
  return StartResult::kStarted;
}

std::optional<SessionTable::Tracked> SessionTable::Find(const Key& key,
                                                        std::string_view channel) const {
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.channel->first != channel) return std::nullopt;
  return Tracked{it->second.last_seen, it->second.counted};
}

bool SessionTable::Count(const Key& key, std::string_view channel) {
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.channel->first != channel) return false;
  if (!it->second.counted) {
    it->second.counted = true;
    ++it->second.channel->second.counted;
    ++counted_;
  }
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
  Entry& e = node.second;
  if (e.counted) {
    --e.channel->second.counted;
    --counted_;
  }
  if (--e.channel->second.tracked == 0) channels_.erase(channels_.find(e.channel->first));
  if (e.client != nullptr && --e.client->second == 0) {
    clients_.erase(clients_.find(e.client->first));
  }
  sessions_.erase(sessions_.find(node.first));
}

std::size_t SessionTable::Expire(WallTime now, std::size_t limit) {
  const WallTime cutoff = now - idle_timeout_;
  std::size_t dropped = 0;
  while (dropped < limit && oldest_ != nullptr && oldest_->second.last_seen <= cutoff) {
    Erase(*oldest_);
    ++dropped;
  }
  return dropped;
}

std::map<ChannelId, std::int64_t> SessionTable::CountByChannel() const {
  std::map<ChannelId, std::int64_t> out;
  for (const auto& [channel, tally] : channels_) {
    if (tally.counted > 0) out.emplace(channel, tally.counted);
  }
  return out;
}

}  // namespace headcount
