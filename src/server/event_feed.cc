// The tick event stream (see event_feed.h).
#include "server/event_feed.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

#include "server/api.h"

namespace headcount {
namespace {

// What a client may send as Last-Event-ID: an id this feed gave out.
std::optional<std::int64_t> ParseEventId(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  std::int64_t id = 0;
  const char* const last = text->data() + text->size();
  const auto [end, ec] = std::from_chars(text->data(), last, id);
  if (ec != std::errc() || end != last || id < 0) return std::nullopt;
  return id;
}

}  // namespace

EventFeed::EventFeed(EventFeedOptions options) : options_(options) {}

std::string EventFeed::Event(const Kept& kept, const std::optional<ChannelId>& channel) const {
  // The document is one line (JSON escapes every line break), so one data: field holds it.
  std::string event = "id: " + std::to_string(kept.id) + "\nevent: tick\ndata: ";
  event += ChannelsJson(kept.snapshot, options_.bucket_length, channel);
  event += "\n\n";
  return event;
}

HttpResponse EventFeed::Subscribe(const HttpRequest& request) {
  std::optional<ChannelId> channel;
  if (auto text = request.Query("channel")) {
    if (!IsChannelIdOrArn(*text)) {
      return HttpResponse::Error(400,
                                 "invalid channel: use 1-64 of A-Z a-z 0-9 _ -, or an IVS "
                                 "channel ARN (arn:aws:ivs:<region>:<account>:channel/<id>)");
    }
    channel = std::move(*text);
  }
  const std::optional<std::int64_t> last_seen = ParseEventId(request.Header("last-event-id"));

  HttpStreamOptions stream_options;
  stream_options.idle_chunk = ": keep-alive\n\n";
  stream_options.idle_interval = options_.keepalive;
  stream_options.max_pending_bytes = options_.max_pending_bytes;
  auto stream = std::make_shared<HttpStream>(std::move(stream_options));
  {
    std::lock_guard lock(mu_);
    PruneLocked();
    if (subscribers_.size() >= options_.max_streams) {
      return HttpResponse::Unavailable("too many event streams are open", kRetryAfterFull);
    }
    stream->Write("retry: " + std::to_string(options_.retry.count()) + "\n\n");
    if (!last_seen) {
      if (!kept_.empty()) stream->Write(Event(kept_.back(), channel));
    } else {
      for (const Kept& kept : kept_) {
        if (kept.id > *last_seen) stream->Write(Event(kept, channel));
      }
    }
    if (request.method != "HEAD") subscribers_.push_back({stream, channel});
  }
  HttpResponse r;
  r.content_type = "text/event-stream; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Accel-Buffering", "no");
  r.stream = std::move(stream);
  return r;
}

void EventFeed::Publish(const LiveSnapshot& snapshot) {
  if (!snapshot.last_tick) return;
  std::lock_guard lock(mu_);
  kept_.push_back({snapshot.last_tick->bucket.time_since_epoch().count(), snapshot});
  while (kept_.size() > options_.resume_events) kept_.pop_front();
  const Kept& kept = kept_.back();
  // Each distinct view is rendered once, however many streams share it.
  std::map<std::optional<ChannelId>, std::string> events;
  for (Subscriber& subscriber : subscribers_) {
    std::shared_ptr<HttpStream> stream = subscriber.stream.lock();
    if (!stream) continue;
    auto [it, inserted] = events.try_emplace(subscriber.channel);
    if (inserted) it->second = Event(kept, subscriber.channel);
    stream->Write(it->second);  // false: too slow or gone, pruned below
  }
  PruneLocked();
}

std::size_t EventFeed::open_streams() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(
      std::count_if(subscribers_.begin(), subscribers_.end(), [](const Subscriber& s) {
        const auto stream = s.stream.lock();
        return stream && !stream->closed();
      }));
}

void EventFeed::PruneLocked() {
  std::erase_if(subscribers_, [](const Subscriber& s) {
    const auto stream = s.stream.lock();
    return !stream || stream->closed();
  });
}

}  // namespace headcount
