// The heartbeats of one simulated player (SimulatorOptions::heartbeat): a
// token from the heartbeat API, then a heartbeat every heartbeat_s, as
// headcount.js sends them. Internal to src/viewers. Lives on its own strand
// and is touched only from it.
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

class Heartbeater : public std::enable_shared_from_this<Heartbeater> {
 public:
  Heartbeater(boost::asio::io_context& io, int index, RunContext& ctx);
  Heartbeater(const Heartbeater&) = delete;
  Heartbeater& operator=(const Heartbeater&) = delete;

  // Asks for a token at `at`, then heartbeats until the run ends. Call once.
  void Start(WallTime at);

 private:
  void RequestToken();
  void OnToken(Result<OriginConnection::Response> response);
  void Beat();
  void OnBeat(Result<OriginConnection::Response> response);
  // Counts an error, logs it (rate limited) and calls `next` after a backoff.
  void Fail(const std::string& why, void (Heartbeater::*next)());
  void After(std::chrono::milliseconds delay, void (Heartbeater::*next)());

  const int index_;
  RunContext& ctx_;
  const std::shared_ptr<OriginConnection> connection_;
  const std::unique_ptr<Alarm> alarm_;
  std::minstd_rand rng_;
  std::string token_;  // never logged
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds backoff_;
};

}  // namespace headcount::viewers
