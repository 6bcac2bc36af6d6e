// The Redis URL of cluster.redis: redis://[[user]:password@]host[:port][/db],
// or rediss:// for Redis over TLS. Parsing it into an endpoint, and showing it with its password
// hidden. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace headcount {

// Redis's own port, when the URL names none (rediss:// too: Redis has no
// separate well-known TLS port).
inline constexpr std::uint16_t kDefaultRedisPort = 6379;
// The highest logical database Redis accepts with its default configuration
// (`databases 16`).
inline constexpr int kMaxRedisDatabase = 15;

struct RedisEndpoint {
  std::string host;
  std::uint16_t port = kDefaultRedisPort;
  std::string user;      // "" = the default user (AUTH with the password alone)
  std::string password;  // "" = no AUTH; percent-decoded
  int database = 0;      // SELECTed after connecting
  bool tls = false;      // rediss://: TLS, the server's certificate verified
};

// Parses a redis:// or rediss:// `url`. kInvalidArgument, with a message
// that never holds the password, for anything else.
Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

// "host:port" ("[::1]:6379" for an IPv6 address): how errors name a Redis.
std::string RedisHostPort(const RedisEndpoint& endpoint);

// `url` with the password of its user info replaced by kRedactedPassword
// (store/postgres/postgres_url.h), the rest unchanged: what logs and errors
// show. Example: rediss://:s3cret@cache:6379/2 -> rediss://:***@cache:6379/2
std::string RedactRedisUrl(std::string_view url);

}  // namespace headcount
