// FirstReports: first reports batched into one script call per set.
#include "cluster/first_reports.h"

#include <algorithm>
#include <utility>

namespace headcount {
namespace {

// A first-report set nobody wrote to for this many of its timeouts is
// deleted by Redis (as the viewers sets).
constexpr int kFirstSetExpiryTimeouts = 2;
// A refused token is remembered for this many token timeouts: a player
// whose heartbeats go round-robin comes back to this node within them, and
// is told to ask for a new token (no node will ever count the old one).
constexpr int kRefusedTimeouts = 2;

std::string_view SightingArg(ViewerSink::Sighting sighting) {
  switch (sighting) {
    case ViewerSink::Sighting::kCounts:
      return "c";
    case ViewerSink::Sighting::kNotWatching:
      return "n";
    case ViewerSink::Sighting::kOldToken:
      return "o";
  }
  return "c";
}

std::string RefusedId(std::string_view channel, std::string_view member) {
  std::string id(channel);
  id += '\n';
  id += member;
  return id;
}

}  // namespace

// Atomic in Redis, so two nodes flushing at once see each other's reports.
// Its entries older than the timeout go as it writes, so a set of a channel
// that never ends stays as small as its viewers.
const char kFirstReportsScript[] = R"lua(-- headcount first reports
local timeout = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local out = {}
local newest = 0
for i = 4, #ARGV, 3 do
  local t = tonumber(ARGV[i])
  local sighting = ARGV[i + 1]
  local m = ARGV[i + 2]
  local last = math.max(tonumber(redis.call('ZSCORE', KEYS[1], m) or 0),
                        tonumber(redis.call('ZSCORE', KEYS[2], m) or 0))
  local r = 0
  if last > t - timeout then
    if math.abs(t - last) >= gap then
      redis.call('ZADD', KEYS[1], 'GT', ARGV[i], m)
      if sighting ~= 'n' then
        redis.call('ZADD', KEYS[2], 'GT', ARGV[i], m)
        r = 1
      end
    end
  elseif sighting == 'o' then
    r = -1
  else
    redis.call('ZADD', KEYS[1], 'GT', ARGV[i], m)
  end
  out[#out + 1] = r
  if t > newest then newest = t end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', newest - timeout))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return out
)lua";

std::string_view ViewerKindName(ViewerSink::Kind kind) {
  switch (kind) {
    case ViewerSink::Kind::kSession:
      return "session";
    case ViewerSink::Kind::kToken:
      return "token";
    case ViewerSink::Kind::kSid:
      return "sid";
  }
  return "session";
}

std::int64_t UnixMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

FirstReports::FirstReports(FirstReportsOptions options) : options_(std::move(options)) {}

void FirstReports::Note(ViewerSink::Kind kind, std::string_view channel,
                        const SessionTable::Key& key, WallTime now, ViewerSink::Sighting sighting) {
  if (kind == ViewerSink::Kind::kSession) return;
  std::string set = options_.key_prefix;
  set += "first:";
  set += ViewerKindName(kind);
  set += ':';
  set += channel;
  std::string member(reinterpret_cast<const char*>(key.data()), key.size());
  std::lock_guard lock(mu_);
  SetReports& reports = pending_[std::move(set)];
  reports.kind = kind;
  if (reports.channel.empty()) reports.channel = channel;
  const auto it = reports.members.find(member);
  if (it != reports.members.end()) {
    it->second = {UnixMillis(now), sighting};
    return;
  }
  if (pending_count_ >= options_.max_pending) return;  // its next report is noted again
  reports.members.emplace(std::move(member), Report{UnixMillis(now), sighting});
  ++pending_count_;
}

std::size_t FirstReports::pending() const {
  std::lock_guard lock(mu_);
  return pending_count_;
}

FirstReports::Batch FirstReports::Take() {
  std::unordered_map<std::string, SetReports> taken;
  {
    std::lock_guard lock(mu_);
    taken.swap(pending_);
    pending_count_ = 0;
  }
  Batch batch;
  for (const auto& [set, reports] : taken) {
    const bool token = reports.kind == ViewerSink::Kind::kToken;
    const std::chrono::milliseconds timeout = token ? options_.token_timeout : options_.sid_timeout;
    const std::chrono::milliseconds gap = token ? options_.token_gap : std::chrono::milliseconds(0);
    std::string viewers = options_.key_prefix;
    viewers += "viewers:";
    viewers += ViewerKindName(reports.kind);
    viewers += ':';
    viewers += reports.channel;
    const RedisCommand header = {"EVAL",
                                 kFirstReportsScript,
                                 "2",
                                 set,
                                 viewers,
                                 std::to_string(timeout.count()),
                                 std::to_string(gap.count()),
                                 std::to_string((timeout * kFirstSetExpiryTimeouts).count())};
    RedisCommand command = header;
    std::vector<Batch::Sent> sent;
    const auto send = [&] {
      if (sent.empty()) return;
      batch.commands.push_back(std::move(command));
      batch.sent.push_back(std::move(sent));
      command = header;
      sent.clear();
    };
    for (const auto& [member, report] : reports.members) {
      command.push_back(std::to_string(report.ms));
      command.emplace_back(SightingArg(report.sighting));
      command.push_back(member);
      sent.push_back({report.sighting == ViewerSink::Sighting::kOldToken
                          ? RefusedId(reports.channel, member)
                          : std::string(),
                      report.ms});
      if (sent.size() == kMaxFirstReportsPerScript) send();
    }
    send();
  }
  return batch;
}

Status FirstReports::Absorb(const Batch& batch, std::span<const RedisReply> replies) {
  const std::int64_t retention =
      std::chrono::milliseconds(options_.token_timeout * kRefusedTimeouts).count();
  Status status;
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < batch.sent.size() && i < replies.size(); ++i) {
    const RedisReply& reply = replies[i];
    const std::vector<Batch::Sent>& sent = batch.sent[i];
    if (reply.type != RedisReply::Type::kArray || reply.elements.size() != sent.size()) {
      status = Error::Rejected("Redis refused the first reports: " +
                               (reply.is_error() ? reply.text : "a reply of another shape"));
      continue;
    }
    for (std::size_t j = 0; j < sent.size(); ++j) {
      if (sent[j].old_token.empty() || reply.elements[j].integer != -1) continue;
      if (refused_.size() >= kMaxRefusedTokens) {
        const std::int64_t horizon = sent[j].ms - retention;
        std::erase_if(refused_, [&](const auto& entry) { return entry.second <= horizon; });
        if (refused_.size() >= kMaxRefusedTokens) refused_.clear();  // a flood: start over
      }
      refused_[sent[j].old_token] = sent[j].ms;
    }
  }
  return status;
}

bool FirstReports::Refused(std::string_view channel, const SessionTable::Key& key,
                           WallTime now) const {
  const std::string id =
      RefusedId(channel, std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  std::lock_guard lock(mu_);
  const auto it = refused_.find(id);
  return it != refused_.end() &&
         it->second >
             UnixMillis(now) -
                 std::chrono::milliseconds(options_.token_timeout * kRefusedTimeouts).count();
}

}  // namespace headcount
