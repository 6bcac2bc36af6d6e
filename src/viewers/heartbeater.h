// How one simulated player reports itself, on a connection of its own:
// heartbeats (SimulatorOptions::heartbeat), a token from the heartbeat API
// then a heartbeat every heartbeat_s, as headcount.js sends them; or CMCD v2
// event reports (SimulatorOptions::cmcd), as hls.js 1.7 sends them with an
// event target at the collector: play state starting, then playing, then a
// time-interval report every kCmcdReportInterval. Internal to src/viewers.
// Lives on its own strand and is touched only from it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <random>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "viewers/alarm.h"
#include "viewers/origin_connection.h"
#include "viewers/run_context.h"

namespace headcount::viewers {

// The interval of a simulated CMCD player's time-interval reports (e=t):
// the 10 s README tells sites to set.
inline constexpr std::chrono::seconds kCmcdReportInterval{10};

class Heartbeater : public std::enable_shared_from_this<Heartbeater> {
 public:
  enum class Protocol { kHeartbeats, kCmcd };

  // With kCmcd, `sid` is the player's CMCD session id.
  Heartbeater(boost::asio::io_context& io, int index, RunContext& ctx,
              Protocol protocol = Protocol::kHeartbeats, std::string sid = "");
  Heartbeater(const Heartbeater&) = delete;
  Heartbeater& operator=(const Heartbeater&) = delete;

  // Asks for a token at `at`, then heartbeats until the run ends; or sends
  // its first CMCD report at `at`, and reports until the run ends. Call once.
  void Start(WallTime at);

 private:
  void RequestToken();
  void OnToken(Result<OriginConnection::Response> response);
  void Beat();
  void OnBeat(Result<OriginConnection::Response> response);
  // The next CMCD report (sn_ says which), and its answer.
  void Report();
  void OnReport(Result<OriginConnection::Response> response);
  // Counts an error, logs it (rate limited) and calls `next` after a backoff.
  void Fail(const std::string& why, void (Heartbeater::*next)());
  void After(std::chrono::milliseconds delay, void (Heartbeater::*next)());

  const int index_;
  RunContext& ctx_;
  const Protocol protocol_;
  const std::string sid_;
  const std::shared_ptr<OriginConnection> connection_;
  const std::unique_ptr<Alarm> alarm_;
  std::minstd_rand rng_;
  std::string token_;  // never logged
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds backoff_;
  std::int64_t sn_ = 0;  // CMCD reports sent and answered 204
};

}  // namespace headcount::viewers
