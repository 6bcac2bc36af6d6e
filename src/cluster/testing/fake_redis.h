// An in-memory stand-in for Redis with the commands the cluster sends
// (sorted sets, strings with NX/PX, TickLease's scripts, recognised by
// their key count, and FirstReports' script, by its first line; all run as
// C++), and a switch that makes it unreachable. Expiry follows the Clock given. Thread-safe; for
// tests only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cluster/redis_client.h"
#include "core/clock.h"

namespace headcount::testing {

class FakeRedis final : public Redis {
 public:
  explicit FakeRedis(const Clock& clock) : clock_(clock) {}

  Result<std::vector<RedisReply>> Run(std::span<const RedisCommand> commands) override {
    std::lock_guard lock(mu_);
    ++round_trips_;
    if (down_) return Error::Unavailable("Redis at fake:6379: Connection refused");
    std::vector<RedisReply> replies;
    for (const RedisCommand& c : commands) {
      sent_.push_back(c);
      replies.push_back(One(c));
    }
    return replies;
  }

  void set_down(bool down) {
    std::lock_guard lock(mu_);
    down_ = down;
  }
  // Forgets everything, as a Redis restarted without persistence.
  void Restart() {
    std::lock_guard lock(mu_);
    zsets_.clear();
    strings_.clear();
  }
  std::size_t round_trips() const {
    std::lock_guard lock(mu_);
    return round_trips_;
  }
  std::vector<RedisCommand> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  std::size_t zcard(const std::string& key) const {
    std::lock_guard lock(mu_);
    const auto it = zsets_.find(key);
    return it == zsets_.end() ? 0 : it->second.size();
  }
  std::optional<double> score(const std::string& key, const std::string& member) const {
    std::lock_guard lock(mu_);
    const auto it = zsets_.find(key);
    if (it == zsets_.end() || !it->second.contains(member)) return std::nullopt;
    return it->second.at(member);
  }

 private:
  struct Value {
    std::string text;
    std::optional<WallTime> expires;
  };

  static RedisReply Int(std::int64_t n) {
    RedisReply r;
    r.type = RedisReply::Type::kInteger;
    r.integer = n;
    return r;
  }
  static RedisReply Str(std::string s) {
    RedisReply r;
    r.type = RedisReply::Type::kString;
    r.text = std::move(s);
    return r;
  }
  static RedisReply Ok() {
    RedisReply r;
    r.type = RedisReply::Type::kStatus;
    r.text = "OK";
    return r;
  }

  std::optional<std::string> Get(const std::string& key) {
    const auto it = strings_.find(key);
    if (it == strings_.end()) return std::nullopt;
    if (it->second.expires && clock_.Now() >= *it->second.expires) {
      strings_.erase(it);
      return std::nullopt;
    }
    return it->second.text;
  }

  // kFirstReportsScript: first, viewers; timeout, gap, ttl, then
  // (ms, sighting, member)...
  RedisReply FirstReports(const RedisCommand& c) {
    auto& first = zsets_[c[3]];
    auto& viewers = zsets_[c[4]];
    const double timeout = std::stod(c[5]);
    const double gap = std::stod(c[6]);
    RedisReply out;
    out.type = RedisReply::Type::kArray;
    for (std::size_t i = 8; i + 2 < c.size(); i += 3) {
      const double t = std::stod(c[i]);
      const std::string& sighting = c[i + 1];
      const std::string& m = c[i + 2];
      const auto score = [&](const std::map<std::string, double>& set) {
        const auto it = set.find(m);
        return it == set.end() ? 0.0 : it->second;
      };
      const auto add = [&](std::map<std::string, double>& set) {
        set[m] = std::max(score(set), t);
      };
      const double last = std::max(score(first), score(viewers));
      std::int64_t r = 0;
      if (last > t - timeout) {
        if (std::abs(t - last) >= gap) {
          add(first);
          if (sighting != "n") {
            add(viewers);
            r = 1;
          }
        }
      } else if (sighting == "o") {
        r = -1;
      } else {
        add(first);
      }
      out.elements.push_back(Int(r));
    }
    return out;
  }

  RedisReply One(const RedisCommand& c) {
    const std::string& op = c[0];
    if (op == "ZADD") {  // ZADD key GT score member ...
      auto& set = zsets_[c[1]];
      std::int64_t added = 0;
      for (std::size_t i = 3; i + 1 < c.size(); i += 2) {
        const double score = std::stod(c[i]);
        const auto it = set.find(c[i + 1]);
        if (it == set.end()) {
          set.emplace(c[i + 1], score);
          ++added;
        } else if (score > it->second) {
          it->second = score;
        }
      }
      return Int(added);
    }
    if (op == "ZREM") {
      auto& set = zsets_[c[1]];
      std::int64_t removed = 0;
      for (std::size_t i = 2; i < c.size(); ++i) removed += std::int64_t(set.erase(c[i]));
      return Int(removed);
    }
    if (op == "ZREMRANGEBYSCORE") {  // key -inf max
      auto& set = zsets_[c[1]];
      const double max = std::stod(c[3]);
      return Int(
          std::int64_t(std::erase_if(set, [&](const auto& kv) { return kv.second <= max; })));
    }
    if (op == "ZCARD") return Int(std::int64_t(zsets_[c[1]].size()));
    if (op == "PEXPIRE") return Int(1);
    if (op == "GET") {
      std::optional<std::string> v = Get(c[1]);
      return v ? Str(*v) : RedisReply{};
    }
    if (op == "SET") {  // SET key value [NX]
      if (c.size() > 3 && c[3] == "NX" && Get(c[1])) return RedisReply{};
      strings_[c[1]] = {c[2], std::nullopt};
      return Ok();
    }
    if (op == "EVAL" && c[1].starts_with("-- headcount first reports")) return FirstReports(c);
    if (op == "EVAL" && c[2] == "2") {  // TickLease acquire: lease, done; bucket, value, ms
      const std::int64_t done = std::stoll(Get(c[4]).value_or("-1"));
      if (done >= std::stoll(c[5])) return Int(0);
      if (Get(c[3])) return Int(-1);
      strings_[c[3]] = {c[6], clock_.Now() + std::chrono::milliseconds(std::stoll(c[7]))};
      return Int(1);
    }
    // TickLease renew: lease; value, ms.
    if (op == "EVAL" && c[2] == "1") {
      if (Get(c[3]) != c[4]) return Int(0);
      strings_[c[3]].expires = clock_.Now() + std::chrono::milliseconds(std::stoll(c[5]));
      return Int(1);
    }
    // TickLease complete: lease, done, shared; value, bucket, report.
    if (op == "EVAL" && c[2] == "3") {
      if (Get(c[3]) != c[6]) return Int(0);
      if (std::stoll(Get(c[4]).value_or("-1")) < std::stoll(c[7])) {
        strings_[c[4]] = {c[7], std::nullopt};
        strings_[c[5]] = {c[8], std::nullopt};
      }
      strings_.erase(c[3]);
      return Int(1);
    }
    RedisReply error;
    error.type = RedisReply::Type::kError;
    error.text = "ERR unknown command '" + op + "' (fake)";
    return error;
  }

  const Clock& clock_;
  mutable std::mutex mu_;
  bool down_ = false;
  std::size_t round_trips_ = 0;
  std::vector<RedisCommand> sent_;
  std::map<std::string, std::map<std::string, double>> zsets_;
  std::map<std::string, Value> strings_;
};

}  // namespace headcount::testing
