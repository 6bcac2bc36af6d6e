// TickLease: two Lua scripts, each atomic in Redis.
#include "cluster/tick_lease.h"

#include <openssl/rand.h>

#include <array>
#include <utility>

namespace headcount {
namespace {

// KEYS: lease, done. ARGV: bucket, lease value, hold in ms.
// Returns 1 acquired, 0 done, -1 held.
constexpr char kAcquireScript[] = R"lua(
local done = tonumber(redis.call('GET', KEYS[2]) or '-1')
if done >= tonumber(ARGV[1]) then return 0 end
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return -1
)lua";

// KEYS: lease. ARGV: lease value, ttl in ms. Returns 1 extended, 0 not ours.
constexpr char kRenewScript[] = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua";

// KEYS: lease, done, shared. ARGV: lease value, bucket, report.
// Returns 1 written, 0 when the lease is not ours.
constexpr char kCompleteScript[] = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local done = tonumber(redis.call('GET', KEYS[2]) or '-1')
if done < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('SET', KEYS[3], ARGV[3])
end
redis.call('DEL', KEYS[1])
return 1
)lua";

std::string Nonce() {
  std::array<unsigned char, 8> bytes{};
  (void)RAND_bytes(bytes.data(), int(bytes.size()));  // uniqueness, not secrecy
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string UnixSeconds(Seconds bucket) {
  return std::to_string(bucket.time_since_epoch().count());
}

Error Refused(const RedisReply& reply) {
  return Error::Rejected("Redis refused the tick lease script: " + reply.text);
}

}  // namespace

TickLease::TickLease(Redis& redis, const std::string& key_prefix, std::string node)
    : redis_(redis),
      lease_key_(key_prefix + "tick:lease"),
      done_key_(key_prefix + "tick:done"),
      shared_key_(key_prefix + "tick:shared"),
      node_(std::move(node)) {}

Result<TickLease::Outcome> TickLease::Acquire(Seconds bucket, std::chrono::milliseconds hold) {
  const std::string value = UnixSeconds(bucket) + " " + node_ + " " + Nonce();
  const Result<RedisReply> reply =
      redis_.RunOne({"EVAL", kAcquireScript, "2", lease_key_, done_key_, UnixSeconds(bucket), value,
                     std::to_string(std::max<std::int64_t>(1, hold.count()))});
  if (!reply.ok()) return reply.error();
  if (reply->type != RedisReply::Type::kInteger) return Refused(*reply);
  if (reply->integer == 1) {
    std::lock_guard lock(mu_);
    token_ = value;
    return Outcome::kAcquired;
  }
  return reply->integer == 0 ? Outcome::kDone : Outcome::kHeld;
}

Result<bool> TickLease::Renew(std::chrono::milliseconds ttl) {
  std::string token;
  {
    std::lock_guard lock(mu_);
    token = token_;
  }
  const Result<RedisReply> reply =
      redis_.RunOne({"EVAL", kRenewScript, "1", lease_key_, token,
                     std::to_string(std::max<std::int64_t>(1, ttl.count()))});
  if (!reply.ok()) return reply.error();
  if (reply->type != RedisReply::Type::kInteger) return Refused(*reply);
  return reply->integer == 1;
}

Result<bool> TickLease::Complete(Seconds bucket, std::string_view report) {
  std::string token;
  {
    std::lock_guard lock(mu_);
    token = token_;
  }
  const Result<RedisReply> reply =
      redis_.RunOne({"EVAL", kCompleteScript, "3", lease_key_, done_key_, shared_key_, token,
                     UnixSeconds(bucket), std::string(report)});
  if (!reply.ok()) return reply.error();
  if (reply->type != RedisReply::Type::kInteger) return Refused(*reply);
  return reply->integer == 1;
}

Result<std::optional<std::string>> TickLease::Shared() {
  const Result<RedisReply> reply = redis_.RunOne({"GET", shared_key_});
  if (!reply.ok()) return reply.error();
  if (reply->is_error()) return Refused(*reply);
  if (reply->type != RedisReply::Type::kString) return std::optional<std::string>();
  return std::optional<std::string>(reply->text);
}

Result<std::optional<std::string>> TickLease::Holder() {
  const Result<RedisReply> reply = redis_.RunOne({"GET", lease_key_});
  if (!reply.ok()) return reply.error();
  if (reply->is_error()) return Refused(*reply);
  if (reply->type != RedisReply::Type::kString) return std::optional<std::string>();
  return std::optional<std::string>(reply->text);
}

}  // namespace headcount
