// The heartbeat API of `serve` as a handler (no sockets): players ask for a
// token and send heartbeats with it, or send CMCD v2 event reports, from any
// page the CORS policy allows.
// Thread-safe: Handle may run on several threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include "core/client_rate_limiter.h"
#include "core/clock.h"
#include "heartbeat/cmcd_collector.h"
#include "heartbeat/heartbeat_viewers.h"
#include "server/cors.h"
#include "server/http.h"

namespace headcount {

// A heartbeat body is {"token":"<32 characters>","left":true}: far less.
inline constexpr std::size_t kMaxHeartbeatBodyBytes = 512;
// Per client address: token requests and heartbeats a second, and the burst
// let through at once. A few hundred viewers behind one address (a NAT, a
// campus) send a heartbeat every 10 s each: 600 of them are 60 a second. They
// ask for a token once per page, and may all arrive at once (a lecture
// starts): 300 at once, then 10 a second.
inline constexpr double kTokenRatePerClient = 10;
inline constexpr double kTokenBurstPerClient = 300;
inline constexpr double kHeartbeatRatePerClient = 60;
inline constexpr double kHeartbeatBurstPerClient = 600;

struct HeartbeatApiOptions {
  double token_rate = kTokenRatePerClient;
  double token_burst = kTokenBurstPerClient;
  double heartbeat_rate = kHeartbeatRatePerClient;
  double heartbeat_burst = kHeartbeatBurstPerClient;
  // Whether POST /api/channels/{id}/cmcd collects (else it is a 404 that
  // says so): serve's --cmcd.
  bool cmcd = true;
};

// Routes:
//   POST /api/channels/{id}/viewers
//     201 {"token":"...","heartbeat_s":10,"expires_s":30}; 404 for a channel
//     id that is not valid or not served (`channel_exists`).
//   POST /api/channels/{id}/heartbeat   body {"token":"...","left":true?}
//     as application/json or text/plain (navigator.sendBeacon); 204 when
//     taken, ignored as too soon, or left; 403 for a forged, expired or
//     other channel's token; 400 for a body that is not that JSON; 413 over
//     kMaxHeartbeatBodyBytes; 415 for another content type.
//   POST /api/channels/{id}/cmcd   CMCD v2 event reports (CmcdCollector);
//     404 for a channel not served, or when the collector is off.
//   GET (HEAD) /api/channels/{id}/cmcd
//     200 {"collecting":true|false,"timeout_s":75}: whether POSTs for the
//     channel are collected now (the collector is on and the channel is
//     served), so that a page (/watch) knows before pointing its player at
//     the collector; 404 for an invalid channel id.
//   OPTIONS on all three: the CORS preflight (CorsPolicy::Preflight).
// All answer 429 with Retry-After when the client address is over its rate
// (HeartbeatApiOptions), 429 when it holds its cap of viewers, 503 when the
// table is full, 405 with Allow for other methods. Every answer carries the
// CORS headers and Cache-Control: no-store. Tokens are never logged.
class HeartbeatApi {
 public:
  // Every reference must outlive the Api. `channel_exists` says whether a
  // (valid) channel id is one this server serves; called on the I/O thread.
  HeartbeatApi(HeartbeatViewers& viewers, const Clock& clock, const CorsPolicy& cors,
               std::function<bool(std::string_view channel)> channel_exists,
               HeartbeatApiOptions options = {});
  HeartbeatApi(const HeartbeatApi&) = delete;
  HeartbeatApi& operator=(const HeartbeatApi&) = delete;

  // True for /api/channels/{id}/viewers, .../heartbeat and .../cmcd.
  static bool Serves(std::string_view path);

  // Answers at once, without blocking.
  HttpResponse Handle(const HttpRequest& request);

  // The CMCD collector's counters (for /metrics).
  const CmcdCollector& cmcd() const { return cmcd_; }

  enum class Route { kViewers, kHeartbeat, kCmcd };

 private:
  HttpResponse Dispatch(const HttpRequest& request, std::string_view channel, Route route);
  HttpResponse CollectCmcd(const HttpRequest& request, std::string_view channel);
  HttpResponse DescribeCmcd(const HttpRequest& request, std::string_view channel);
  HttpResponse NewViewer(const HttpRequest& request, std::string_view channel);
  HttpResponse Heartbeat(const HttpRequest& request, std::string_view channel);

  HeartbeatViewers& viewers_;
  const Clock& clock_;
  const CorsPolicy& cors_;
  const std::function<bool(std::string_view)> channel_exists_;
  ClientRateLimiter token_limit_;
  ClientRateLimiter heartbeat_limit_;
  const bool cmcd_on_;
  CmcdCollector cmcd_;  // takes from heartbeat_limit_
};

}  // namespace headcount
