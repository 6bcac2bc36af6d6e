// SharedViewers: batched sorted-set updates and counts in Redis.
#include "cluster/shared_viewers.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace headcount {
namespace {

constexpr ViewerSink::Kind kAllKinds[] = {ViewerSink::Kind::kSession, ViewerSink::Kind::kToken,
                                          ViewerSink::Kind::kSid};

// A set nobody wrote to for this many of its timeouts is deleted by Redis.
constexpr int kSetExpiryTimeouts = 2;

}  // namespace

SharedViewers::SharedViewers(Redis& redis, SharedViewersOptions options)
    : redis_(redis),
      options_(std::move(options)),
      first_reports_({.key_prefix = options_.key_prefix,
                      .token_timeout = options_.token_timeout,
                      .sid_timeout = options_.sid_timeout,
                      .token_gap = options_.token_gap,
                      .max_pending = options_.max_pending}) {}

void SharedViewers::FirstReport(Kind kind, std::string_view channel, const SessionTable::Key& key,
                                WallTime now, Sighting sighting) {
  first_reports_.Note(kind, channel, key, now, sighting);
}

bool SharedViewers::RefusedOldToken(std::string_view channel, const SessionTable::Key& key,
                                    WallTime now) {
  return first_reports_.Refused(channel, key, now);
}

std::string SharedViewers::SetKey(Kind kind, std::string_view channel) const {
  std::string key = options_.key_prefix;
  key += "viewers:";
  key += ViewerKindName(kind);
  key += ':';
  key += channel;
  return key;
}

std::chrono::seconds SharedViewers::Timeout(Kind kind) const {
  switch (kind) {
    case Kind::kSession:
      return options_.session_timeout;
    case Kind::kToken:
      return options_.token_timeout;
    case Kind::kSid:
      return options_.sid_timeout;
  }
  return options_.session_timeout;
}

void SharedViewers::Seen(Kind kind, std::string_view channel, const SessionTable::Key& key,
                         WallTime now) {
  Note(kind, channel, key, UnixMillis(now));
}

void SharedViewers::Gone(Kind kind, std::string_view channel, const SessionTable::Key& key) {
  Note(kind, channel, key, std::nullopt);
}

void SharedViewers::Note(Kind kind, std::string_view channel, const SessionTable::Key& key,
                         std::optional<std::int64_t> seen_ms) {
  std::string set = SetKey(kind, channel);
  std::string member(reinterpret_cast<const char*>(key.data()), key.size());
  std::lock_guard lock(mu_);
  SetUpdates& updates = pending_[std::move(set)];
  updates.kind = kind;
  const auto it = updates.members.find(member);
  if (it != updates.members.end()) {
    it->second = seen_ms;
    return;
  }
  if (pending_count_ >= options_.max_pending) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  updates.members.emplace(std::move(member), seen_ms);
  ++pending_count_;
}

std::size_t SharedViewers::pending() const {
  std::lock_guard lock(mu_);
  return pending_count_;
}

Status SharedViewers::Flush() {
  std::lock_guard flush_lock(flush_mu_);
  Pending batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
    pending_count_ = 0;
  }
  FirstReports::Batch firsts = first_reports_.Take();
  const std::size_t first_commands = firsts.commands.size();
  if (batch.empty() && first_commands == 0) return {};

  // First reports first: a sid counted by one and gone by a later update
  // of this node is gone.
  std::vector<RedisCommand> commands = std::move(firsts.commands);
  for (const auto& [set, updates] : batch) {
    RedisCommand add = {"ZADD", set, "GT"};  // a late batch never moves a viewer back
    RedisCommand remove = {"ZREM", set};
    const auto send = [&](RedisCommand& command, std::size_t header) {
      if (command.size() > header) commands.push_back(command);
      command.resize(header);
    };
    for (const auto& [member, seen_ms] : updates.members) {
      if (seen_ms) {
        add.push_back(std::to_string(*seen_ms));
        add.push_back(member);
        if ((add.size() - 3) / 2 == kMaxMembersPerCommand) send(add, 3);
      } else {
        remove.push_back(member);
        if (remove.size() - 2 == kMaxMembersPerCommand) send(remove, 2);
      }
    }
    send(add, 3);
    send(remove, 2);
    const auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(Timeout(updates.kind) *
                                                                           kSetExpiryTimeouts);
    commands.push_back({"PEXPIRE", set, std::to_string(ttl.count())});
  }
  Result<std::vector<RedisReply>> replies = redis_.Run(commands);
  reachable_.store(replies.ok(), std::memory_order_relaxed);
  Status status;
  if (!replies.ok()) {
    status = replies.error();
  } else {
    const std::span<const RedisReply> all(*replies);
    status = first_reports_.Absorb(firsts, all.first(first_commands));
    for (const RedisReply& r : all.subspan(first_commands)) {
      if (r.is_error()) {
        status = Error::Rejected("Redis refused a viewer update: " + r.text);
        break;
      }
    }
  }
  if (status.ok()) return status;

  // Back into the queue, under the updates that came meanwhile.
  std::lock_guard lock(mu_);
  for (auto& [set, updates] : batch) {
    SetUpdates& now = pending_[set];
    now.kind = updates.kind;
    for (auto& [member, seen_ms] : updates.members) {
      if (now.members.contains(member)) continue;
      if (pending_count_ >= options_.max_pending) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      now.members.emplace(member, seen_ms);
      ++pending_count_;
    }
  }
  return status;
}

Result<std::map<ChannelId, std::int64_t>> SharedViewers::Count(std::span<const ChannelId> channels,
                                                               WallTime now) {
  if (Status flushed = Flush(); !flushed.ok()) return flushed.error();
  std::vector<RedisCommand> commands;
  commands.reserve(channels.size() * std::size(kAllKinds) * 2);
  const std::int64_t now_ms = UnixMillis(now);
  for (const ChannelId& channel : channels) {
    for (const Kind kind : kAllKinds) {
      // Active while last seen > now - timeout, as in SessionTable.
      const std::int64_t cutoff =
          now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(Timeout(kind)).count();
      const std::string set = SetKey(kind, channel);
      commands.push_back({"ZREMRANGEBYSCORE", set, "-inf", std::to_string(cutoff)});
      commands.push_back({"ZCARD", set});
    }
  }
  Result<std::vector<RedisReply>> replies = redis_.Run(commands);
  reachable_.store(replies.ok(), std::memory_order_relaxed);
  if (!replies.ok()) return replies.error();
  std::map<ChannelId, std::int64_t> counts;
  std::size_t i = 0;
  for (const ChannelId& channel : channels) {
    std::int64_t by_kind[std::size(kAllKinds)] = {};
    for (std::int64_t& n : by_kind) {
      const RedisReply& card = (*replies)[i + 1];
      if ((*replies)[i].is_error() || card.type != RedisReply::Type::kInteger) {
        return Error::Rejected("Redis refused a viewer count: " +
                               ((*replies)[i].is_error() ? (*replies)[i].text : card.text));
      }
      n = card.integer;
      i += 2;
    }
    counts[channel] = std::max(by_kind[0], std::max(by_kind[1], by_kind[2]));
  }
  return counts;
}

}  // namespace headcount
