// EventFeed: GET /api/events, each tick's result pushed to the dashboard and
// the players' scripts as server-sent events (text/event-stream, the HTML
// standard's EventSource) the moment the tick is recorded, instead of their
// polling /api/channels. Thread-safe.
//
// Each tick is one event:
//   id: <the tick's bucket, Unix seconds>
//   event: tick
//   data: <the /api/channels document of that moment: every channel's
//          newest summary and whether it is live; with ?channel=<id>, that
//          channel's entry alone>
// A new stream starts with the newest tick's event (if there was a tick),
// so a client has the counts at once; one that sends Last-Event-ID (a
// reconnecting EventSource does) gets instead the kept events after that id,
// and nothing more when it missed none. Every stream begins with `retry:`
// (the reconnection delay) and gets a comment line every keepalive interval
// when no event went out, so proxies and load balancers keep it open; its
// answer says `Cache-Control: no-store` and `X-Accel-Buffering: no` (nginx
// passes each event through at once). Streams beyond max_streams get 503
// with Retry-After; a client that reads slower than events come is dropped
// (HttpStream's bound), as is one that cannot be written to within the
// server's write timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/samples.h"
#include "server/http.h"
#include "server/http_stream.h"
#include "server/live_state.h"

namespace headcount {

struct EventFeedOptions {
  // The store's bucket length (the documents' bucket_seconds).
  std::chrono::seconds bucket_length{60};
  // Open streams at once; past it, 503.
  std::size_t max_streams = 1000;
  // A comment goes out after this long without an event.
  std::chrono::milliseconds keepalive{std::chrono::seconds{15}};
  // How long a client waits before reconnecting (the `retry:` field).
  std::chrono::milliseconds retry{std::chrono::seconds{3}};
  // Ticks kept for clients that reconnect with Last-Event-ID.
  std::size_t resume_events = 10;
  // Unsent bytes of one stream beyond this drop its client.
  std::size_t max_pending_bytes = std::size_t{1} << 20;
};

class EventFeed {
 public:
  // How long a client refused for max_streams is asked to wait.
  static constexpr std::chrono::seconds kRetryAfterFull{15};

  explicit EventFeed(EventFeedOptions options = {});
  EventFeed(const EventFeed&) = delete;
  EventFeed& operator=(const EventFeed&) = delete;

  // Answers GET or HEAD /api/events (`?channel=` narrows it to one channel:
  // 400 when it is not a channel id or IVS channel ARN) with a stream, or
  // 503 when max_streams are open. Quick: runs on the I/O thread.
  HttpResponse Subscribe(const HttpRequest& request);

  // Sends the tick `snapshot` records (its last_tick must be set) to every
  // open stream and keeps it for resumption. Called after each tick.
  void Publish(const LiveSnapshot& snapshot);

  // Streams open now.
  std::size_t open_streams() const;

 private:
  struct Subscriber {
    std::weak_ptr<HttpStream> stream;  // the connection owns it
    std::optional<ChannelId> channel;  // only this channel's entry
  };
  struct Kept {
    std::int64_t id = 0;  // the tick's bucket
    LiveSnapshot snapshot;
  };

  // The event for `kept`, narrowed to `channel` when set.
  std::string Event(const Kept& kept, const std::optional<ChannelId>& channel) const;
  // Forgets subscribers whose connection is gone. Needs mu_.
  void PruneLocked();

  const EventFeedOptions options_;

  mutable std::mutex mu_;
  std::deque<Kept> kept_;                // guarded by mu_; oldest first
  std::vector<Subscriber> subscribers_;  // guarded by mu_
};

}  // namespace headcount
