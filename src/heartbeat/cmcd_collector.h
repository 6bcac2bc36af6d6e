// The CMCD v2 event-mode collector of `serve` (CTA-5004-B): the body of
// POST /api/channels/{id}/cmcd, its reports counted as viewers by their
// `sid` in the heartbeat viewers' table. HeartbeatApi routes to it (path,
// method, channel, CORS); this is what it does with one body. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/client_rate_limiter.h"
#include "core/clock.h"
#include "heartbeat/heartbeat_viewers.h"
#include "server/http.h"

namespace headcount {

// An event-mode body holds a few reports of a few hundred bytes (hls.js
// sends one a POST, Shaka batches a few): 16 KiB is far more. Larger: 413.
inline constexpr std::size_t kMaxCmcdBodyBytes = std::size_t{16} * 1024;

class CmcdCollector {
 public:
  // Both must outlive the collector. `limit` is the heartbeats' limiter:
  // one report costs what one heartbeat does, from the same budget.
  CmcdCollector(HeartbeatViewers& viewers, ClientRateLimiter& limit)
      : viewers_(viewers), limit_(limit) {}
  CmcdCollector(const CmcdCollector&) = delete;
  CmcdCollector& operator=(const CmcdCollector&) = delete;

  // The reports of `request` (a POST for `channel`, one this server
  // serves), received at `now`:
  //   413 over kMaxCmcdBodyBytes; 415 unless application/cmcd or
  //   text/plain (navigator.sendBeacon) or no type; 400 when no line is a
  //   report with a `sid` string of 1 to kMaxCmcdSidChars characters (a
  //   line that is not is skipped and counted as bad); else each report
  //   goes to HeartbeatViewers::Report, one rate-limit token each, and
  //   the answer is 204, or 429 (with Retry-After when over the rate) /
  //   503 when a report was refused for that: the reports before it count,
  //   the ones after it are not looked at.
  HttpResponse Collect(const HttpRequest& request, std::string_view channel, WallTime now);

  // Since start: reports taken (each valid line), and lines that were not
  // reports (unparsable, or without a valid sid).
  std::uint64_t reports() const { return reports_.load(std::memory_order_relaxed); }
  std::uint64_t bad_lines() const { return bad_lines_.load(std::memory_order_relaxed); }

 private:
  HeartbeatViewers& viewers_;
  ClientRateLimiter& limit_;
  std::atomic<std::uint64_t> reports_{0};
  std::atomic<std::uint64_t> bad_lines_{0};
};

}  // namespace headcount
