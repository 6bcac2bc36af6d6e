// RedisPool over hiredis's blocking context (see redis_client.h for why).
#include "cluster/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <utility>

namespace headcount {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

RedisReply Convert(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(Convert(*r.element[i]));
      break;
    default:
      break;  // REDIS_REPLY_NIL
  }
  return out;
}

// What a broken context's error is, as an Error.
Error ContextError(const redisContext& c, const std::string& where) {
  const std::string what =
      "Redis at " + where + ": " + (c.errstr[0] ? c.errstr : "connection lost");
  // hiredis reports a read or write timeout as an I/O error with EAGAIN's text.
  if (c.err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return Error::DeadlineExceeded(what + " (no answer in time)");
  }
  return Error::Unavailable(what);
}

// Appends `command` to `c`'s output buffer.
int Append(redisContext* c, const RedisCommand& command) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(command.size());
  lengths.reserve(command.size());
  for (const std::string& a : command) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  return redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data());
}

// Runs `commands` on `c`; a broken connection leaves c->err set.
Result<std::vector<RedisReply>> Exchange(redisContext* c, std::span<const RedisCommand> commands,
                                         const std::string& where) {
  for (const RedisCommand& command : commands) {
    if (Append(c, command) != REDIS_OK) return ContextError(*c, where);
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) return ContextError(*c, where);
    const auto* reply = static_cast<redisReply*>(raw);
    replies.push_back(Convert(*reply));
    freeReplyObject(raw);
  }
  return replies;
}

}  // namespace

Result<RedisReply> Redis::RunOne(const RedisCommand& command) {
  Result<std::vector<RedisReply>> replies = Run(std::span(&command, 1));
  if (!replies.ok()) return replies.error();
  return std::move(replies->front());
}

void RedisPool::ContextDeleter::operator()(redisContext* c) const { redisFree(c); }

RedisPool::RedisPool(RedisOptions options) : options_(std::move(options)) {}

RedisPool::~RedisPool() = default;

std::string RedisPool::Where() const {
  const std::string& host = options_.endpoint.host;
  return (host.find(':') == std::string::npos ? host : "[" + host + "]") + ":" +
         std::to_string(options_.endpoint.port);
}

Result<RedisPool::Context> RedisPool::Connect() const {
  const timeval connect = ToTimeval(options_.connect_timeout);
  Context c(
      redisConnectWithTimeout(options_.endpoint.host.c_str(), options_.endpoint.port, connect));
  if (!c) return Error::Unavailable("Redis at " + Where() + ": out of memory");
  if (c->err != 0) return ContextError(*c, Where());
  if (redisSetTimeout(c.get(), ToTimeval(options_.io_timeout)) != REDIS_OK) {
    return ContextError(*c, Where());
  }
  std::vector<RedisCommand> setup;
  const RedisEndpoint& e = options_.endpoint;
  if (!e.password.empty()) {
    setup.push_back(e.user.empty() ? RedisCommand{"AUTH", e.password}
                                   : RedisCommand{"AUTH", e.user, e.password});
  }
  if (e.database != 0) setup.push_back({"SELECT", std::to_string(e.database)});
  if (setup.empty()) return c;
  Result<std::vector<RedisReply>> replies = Exchange(c.get(), setup, Where());
  if (!replies.ok()) return replies.error();
  for (const RedisReply& r : *replies) {
    // Redis's error text (WRONGPASS ..., ERR DB index ...) holds no secret.
    if (r.is_error()) {
      return Error::Rejected("Redis at " + Where() + " refused the login: " + r.text);
    }
  }
  return c;
}

Result<std::vector<RedisReply>> RedisPool::Run(std::span<const RedisCommand> commands) {
  if (commands.empty()) return std::vector<RedisReply>{};
  Context c;
  {
    std::unique_lock lock(mu_);
    if (!returned_.wait_for(lock, options_.io_timeout,
                            [&] { return !idle_.empty() || busy_ < options_.pool_size; })) {
      return Error::DeadlineExceeded("Redis at " + Where() + ": every pooled connection busy");
    }
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
    }
    ++busy_;
  }
  // Gives the connection back (or its place, when it broke) on every path.
  const auto give_back = [&] {
    std::lock_guard lock(mu_);
    if (c && c->err == 0) idle_.push_back(std::move(c));
    --busy_;
    returned_.notify_one();
  };
  if (!c) {
    Result<Context> made = Connect();
    if (!made.ok()) {
      give_back();
      return made.error();
    }
    c = std::move(*made);
  }
  Result<std::vector<RedisReply>> replies = Exchange(c.get(), commands, Where());
  give_back();
  return replies;
}

}  // namespace headcount
