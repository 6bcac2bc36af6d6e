// Fetching from the upstream: single flight, playlist reuse, the media cache
// (see upstream_fetcher.h).
#include "origin/upstream_fetcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <charconv>
#include <utility>

#include "core/strings.h"
#include "hls/m3u8_text.h"
#include "hls/playlist.h"
#include "http_client/client.h"

namespace headcount {
namespace {

namespace hc = http_client;

// The key of a fetch: kind, URL and Range (the response differs by each).
std::string KeyOf(const UpstreamFetch& fetch) {
  std::string key = fetch.kind == UpstreamKind::kPlaylist ? "p " : "m ";
  key += fetch.url;
  if (!fetch.range.empty()) key += "\nrange: " + fetch.range;
  return key;
}

std::string WithoutQuery(const std::string& url) { return url.substr(0, url.find('?')); }

// #EXT-X-TARGETDURATION of a media playlist; nullopt for anything else.
std::optional<std::chrono::seconds> TargetDuration(std::string_view playlist) {
  for (const std::string_view line : SplitLines(playlist)) {
    if (TagName(line) != "EXT-X-TARGETDURATION") continue;
    const std::string_view value = TagValue(line);
    long long seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || seconds <= 0) return std::nullopt;
    return std::chrono::seconds(seconds);
  }
  return std::nullopt;
}

// What an upstream answers a request whose session it does not (or no
// longer) accept.
bool IsSessionRejection(int status) { return status == 401 || status == 403; }

std::string_view StatusClass(int status) {
  if (status < 300) return "2xx";
  if (status < 400) return "3xx";
  if (status < 500) return "4xx";
  return "5xx";
}

std::string HeaderOr(const hc::HttpHeaders& headers, std::string_view name) {
  const std::string* value = hc::FindHeader(headers, name);
  return value == nullptr ? std::string() : *value;
}

// The Content-Length of a response with no transfer coding, if it says one.
std::optional<std::uint64_t> ContentLength(const hc::HttpHeaders& headers) {
  if (hc::FindHeader(headers, "Transfer-Encoding") != nullptr) return std::nullopt;
  const std::string* value = hc::FindHeader(headers, "Content-Length");
  if (value == nullptr) return std::nullopt;
  std::uint64_t length = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), length);
  if (ec != std::errc() || end != value->data() + value->size()) return std::nullopt;
  return length;
}

// The on_fetch outcome of a request that got no answer.
std::string_view FailureOutcome(const Error& error) {
  if (error.code() == ErrorCode::kRejected) return "too_large";
  return hc::IsTimeout(error) ? "timeout" : "unreachable";
}

// The answer's status and the headers the proxy passes on; no body yet.
std::shared_ptr<UpstreamFile> FileOf(const hc::HttpResponse& response) {
  auto file = std::make_shared<UpstreamFile>();
  file->status = response.status;
  file->content_type = HeaderOr(response.headers, "Content-Type");
  file->content_range = HeaderOr(response.headers, "Content-Range");
  file->cache_control = HeaderOr(response.headers, "Cache-Control");
  return file;
}

}  // namespace

std::string_view UpstreamKindName(UpstreamKind kind) {
  return kind == UpstreamKind::kPlaylist ? "playlist" : "media";
}

bool IsTimedOut(const Error& error) { return hc::IsTimeout(error); }

struct UpstreamFetcher::Io {
  boost::asio::io_context context;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
      context.get_executor()};
  std::unique_ptr<hc::Client> client;
  std::thread thread;
};

Result<std::unique_ptr<UpstreamFetcher>> UpstreamFetcher::Create(UpstreamFetcherOptions options,
                                                                 const Clock& clock) {
  if (options.max_connections == 0) {
    return Error::InvalidArgument("upstream: the connection cap must be positive");
  }
  std::unique_ptr<UpstreamFetcher> fetcher(new UpstreamFetcher(std::move(options), clock));
  hc::ClientOptions client_options;
  client_options.max_connections_per_endpoint = fetcher->options_.max_connections;
  client_options.max_idle_per_endpoint = fetcher->options_.max_connections;
  client_options.ca_file = fetcher->options_.ca_file;
  Result<std::unique_ptr<hc::Client>> client =
      hc::Client::Create(fetcher->io_->context.get_executor(), std::move(client_options));
  if (!client.ok()) return client.error();
  fetcher->io_->client = std::move(*client);
  fetcher->io_->thread = std::thread([io = fetcher->io_.get()] { io->context.run(); });
  return fetcher;
}

UpstreamFetcher::UpstreamFetcher(UpstreamFetcherOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      sessions_(options_.credentials),
      io_(std::make_unique<Io>()) {}

UpstreamFetcher::~UpstreamFetcher() {
  io_->work.reset();
  io_->context.stop();
  if (io_->thread.joinable()) io_->thread.join();
  // The client goes before the context it runs on (client.h).
  io_->client.reset();
}

void UpstreamFetcher::Fetch(const UpstreamFetch& fetch, Callback callback) {
  const std::string key = KeyOf(fetch);
  const WallTime now = clock_.Now();
  std::unique_lock lock(mu_);
  if (std::shared_ptr<const UpstreamFile> hit = LookupLocked(key, fetch, now)) {
    lock.unlock();
    if (options_.on_lookup) options_.on_lookup(fetch.kind, "hit");
    // Answered here, on the caller's thread: a hit needs no hop to the
    // fetcher's one thread, and the callers' threads share the work.
    return callback(std::move(hit));
  }
  if (const auto it = in_flight_.find(key); it != in_flight_.end()) {
    if (std::shared_ptr<const UpstreamFile> live = it->second.file) {
      // Its body is arriving: this request reads it from where it is.
      lock.unlock();
      if (options_.on_lookup) options_.on_lookup(fetch.kind, "shared");
      return callback(std::move(live));
    }
    if (it->second.waiters.size() >= kMaxWaitersPerFetch) {
      lock.unlock();
      return callback(Error::Unavailable("upstream: too many requests wait on one fetch"));
    }
    it->second.waiters.push_back(std::move(callback));
    lock.unlock();
    if (options_.on_lookup) options_.on_lookup(fetch.kind, "shared");
    return;
  }
  if (in_flight_.size() >= kMaxFetchesInFlight) {
    lock.unlock();
    return callback(Error::Unavailable("upstream: too many fetches in flight"));
  }
  if (!fetch.group.empty()) {
    // Refused rather than queued: a channel whose upstream stalls gets its
    // errors at once, and leaves the other half of the pool to the others.
    const std::size_t cap = std::max<std::size_t>(1, options_.max_connections / 2);
    std::size_t& group_fetches = group_in_flight_[fetch.group];
    if (group_fetches >= cap) {
      lock.unlock();
      return callback(Error::Unavailable("upstream: too many fetches in flight for one channel"));
    }
    ++group_fetches;
  }
  InFlight& flight = in_flight_[key];
  flight.fetch = fetch;
  flight.waiters.push_back(std::move(callback));
  lock.unlock();
  if (options_.on_lookup) options_.on_lookup(fetch.kind, "miss");
  Start(key, fetch);
}

std::shared_ptr<const UpstreamFile> UpstreamFetcher::LookupLocked(const std::string& key,
                                                                  const UpstreamFetch& fetch,
                                                                  WallTime now) {
  if (fetch.kind == UpstreamKind::kPlaylist) {
    const auto it = playlists_.find(key);
    if (it == playlists_.end()) return nullptr;
    if (now >= it->second.until) {
      playlists_.erase(it);
      return nullptr;
    }
    return it->second.file;
  }
  const auto it = media_.find(key);
  if (it == media_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.file;
}

void UpstreamFetcher::Start(const std::string& key, const UpstreamFetch& fetch) {
  Result<Url> url = ParseUrl(fetch.url);
  if (!url.ok()) return Complete(key, url.error());
  Send(key, fetch, *url, /*renewed=*/false);
}

void UpstreamFetcher::Send(const std::string& key, const UpstreamFetch& fetch, const Url& url,
                           bool renewed) {
  Exchange(fetch, url, 0, 0,
           [this, key, fetch, url, renewed](Result<std::shared_ptr<UpstreamFile>> file,
                                            std::uint64_t generation) {
             const bool rejected = file.ok() && IsSessionRejection((*file)->status);
             if (!rejected || renewed) {
               if (!file.ok()) return Complete(key, file.error());
               return Complete(key, std::shared_ptr<const UpstreamFile>(std::move(*file)));
             }
             Renew(fetch.group, generation, fetch,
                   [this, key, fetch, url] { Send(key, fetch, url, /*renewed=*/true); });
           });
}

void UpstreamFetcher::Renew(const std::string& group, std::uint64_t generation,
                            const UpstreamFetch& failed, std::function<void()> then) {
  std::optional<Url> entry = sessions_.Entry(group);
  if (!entry && failed.kind == UpstreamKind::kPlaylist) {
    if (Result<Url> url = ParseUrl(failed.url); url.ok()) entry = std::move(*url);
  }
  {
    std::unique_lock lock(mu_);
    // A renewal in flight: the retry waits for its new session.
    if (const auto it = renewals_.find(group); it != renewals_.end()) {
      it->second.push_back(std::move(then));
      return;
    }
    if (sessions_.Generation(group) != generation) {
      // Renewed since the rejected request went out: its retry uses the
      // new session. Run outside mu_ (it sends, which takes mu_).
      lock.unlock();
      return then();
    }
    renewals_[group].push_back(std::move(then));
    // Forgotten under mu_, so a rejection that comes in now sees the new
    // generation or joins this renewal, never starts another.
    sessions_.Forget(group, entry.value_or(Url{}));
  }
  const auto finish = [this, group] {
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(mu_);
      const auto it = renewals_.find(group);
      if (it == renewals_.end()) return;
      sessions_.Renewed(group);
      waiters = std::move(it->second);
      renewals_.erase(it);
    }
    for (std::function<void()>& waiter : waiters) waiter();
  };
  // A segment of a channel no playlist was fetched for: nothing to
  // re-open, the retry goes without the forgotten state.
  if (!entry) return finish();
  spdlog::info("origin: renewing the upstream session of channel {}", group);
  const UpstreamFetch renewal{
      .kind = UpstreamKind::kPlaylist, .url = entry->ToString(), .group = group};
  Exchange(
      renewal, *entry, 0, 0,
      [finish](const Result<std::shared_ptr<UpstreamFile>>& /*file*/, std::uint64_t) { finish(); });
}

void UpstreamFetcher::Exchange(const UpstreamFetch& fetch, const Url& url, std::size_t redirects,
                               std::uint64_t generation, ExchangeDone done) {
  UpstreamRequestParts parts = sessions_.Prepare(url, fetch.group);
  if (redirects == 0) generation = parts.generation;
  hc::HttpRequest request;
  request.method = "GET";
  request.url = std::move(parts.url);
  request.headers = std::move(parts.headers);
  request.connect_timeout = options_.timeout;
  request.timeout = options_.timeout;
  request.max_response_bytes =
      fetch.kind == UpstreamKind::kPlaylist ? kMaxUpstreamPlaylistBytes : kMaxUpstreamMediaBytes;
  if (!fetch.range.empty()) request.headers.push_back({"Range", fetch.range});
  if (fetch.blocking) {
    std::chrono::seconds target = kUnknownTargetDuration;
    {
      std::lock_guard lock(mu_);
      const auto it = target_durations_.find(WithoutQuery(fetch.url));
      if (it != target_durations_.end()) target = it->second;
    }
    request.timeout += std::min<std::chrono::milliseconds>(kBlockingReloadTargetDurations * target,
                                                           kMaxBlockingReloadHold);
  }
  if (fetch.kind == UpstreamKind::kMedia) {
    return StreamMedia(fetch, url, redirects, generation, std::move(request), std::move(done));
  }
  io_->client->Send(
      std::move(request), [this, fetch, url, redirects, generation,
                           done = std::move(done)](Result<hc::HttpResponse> response) mutable {
        if (!response.ok()) {
          if (options_.on_fetch) options_.on_fetch(fetch.kind, FailureOutcome(response.error()));
          return done(response.error(), generation);
        }
        if (options_.on_fetch) options_.on_fetch(fetch.kind, StatusClass(response->status));
        OnAnswer(fetch, url, redirects, generation, std::move(*response), std::move(done));
      });
}

void UpstreamFetcher::OnAnswer(const UpstreamFetch& fetch, const Url& url, std::size_t redirects,
                               std::uint64_t generation, hc::HttpResponse response,
                               ExchangeDone done) {
  sessions_.KeepCookies(url, response.headers);
  if (redirects < kMaxUpstreamRedirects) {
    if (std::optional<Url> next = SameOriginRedirect(url, response.status, response.headers)) {
      return Exchange(fetch, *next, redirects + 1, generation, std::move(done));
    }
  }
  if (fetch.kind == UpstreamKind::kPlaylist && response.status == 200) {
    const bool wrapper = IsSelfReferencingWrapper(url, response.body);
    response.body = sessions_.Learn(url, fetch.group, response.body);
    if (wrapper && redirects < kMaxUpstreamRedirects) {
      return Exchange(fetch, url, redirects + 1, generation, std::move(done));
    }
    if (Result<Url> asked = ParseUrl(fetch.url); asked.ok() && !fetch.group.empty()) {
      sessions_.NotePlaylist(fetch.group, *asked, !IsMediaPlaylist(response.body));
    }
  }
  std::shared_ptr<UpstreamFile> file = FileOf(response);
  file->body = std::make_shared<const std::string>(std::move(response.body));
  done(std::move(file), generation);
}

void UpstreamFetcher::StreamMedia(const UpstreamFetch& fetch, const Url& url, std::size_t redirects,
                                  std::uint64_t generation, hc::HttpRequest request,
                                  ExchangeDone done) {
  // One media exchange: its head, then either its live body (200, 206) or
  // the whole answer gathered for OnAnswer (a redirect, a rejection, ...).
  struct Answer {
    hc::HttpResponse head;
    std::shared_ptr<UpstreamBody> live;
    ExchangeDone done;
  };
  auto answer = std::make_shared<Answer>();
  answer->done = std::move(done);
  hc::Client::StreamHandlers handlers;
  handlers.on_head = [this, fetch, url, generation, answer](Result<hc::HttpResponse> head) {
    if (!head.ok()) {
      if (options_.on_fetch) options_.on_fetch(fetch.kind, FailureOutcome(head.error()));
      return answer->done(head.error(), generation);
    }
    if (options_.on_fetch) options_.on_fetch(fetch.kind, StatusClass(head->status));
    answer->head = std::move(*head);
    if (answer->head.status != 200 && answer->head.status != 206) return;
    sessions_.KeepCookies(url, answer->head.headers);
    std::shared_ptr<UpstreamFile> file = FileOf(answer->head);
    file->live = std::make_shared<UpstreamBody>(ContentLength(answer->head.headers));
    answer->live = file->live;
    answer->done(std::move(file), generation);
  };
  handlers.on_body = [answer](std::string piece) {
    if (answer->live) return answer->live->Append(std::move(piece));
    answer->head.body += piece;  // bounded by the request's max_response_bytes
  };
  handlers.on_end = [this, fetch, url, redirects, generation, answer](const Status& status) {
    if (answer->live) {
      if (!status.ok()) {
        spdlog::debug("origin: upstream media broke off: {}", status.error().ToString());
      }
      return answer->live->End(status.ok());
    }
    if (!status.ok()) return answer->done(status.error(), generation);
    OnAnswer(fetch, url, redirects, generation, std::move(answer->head), std::move(answer->done));
  };
  io_->client->Stream(std::move(request), std::move(handlers));
}

void UpstreamFetcher::Complete(const std::string& key,
                               Result<std::shared_ptr<const UpstreamFile>> result) {
  std::vector<Callback> waiters;
  std::shared_ptr<const UpstreamFile> live;
  {
    std::lock_guard lock(mu_);
    const auto it = in_flight_.find(key);
    if (it == in_flight_.end()) return;
    if (result.ok()) {
      // The fetch id is given here, under the lock, so ids grow with time.
      auto file = std::const_pointer_cast<UpstreamFile>(*result);
      file->fetch_id = next_fetch_id_++;
      if (file->live) live = *result;
      if (!live) KeepLocked(key, it->second.fetch, *result, clock_.Now());
    }
    waiters = std::move(it->second.waiters);
    if (live) {
      // A body still arriving: the fetch goes on, later requests join it
      // (Fetch) until it ends (Settle).
      it->second.file = live;
    } else {
      if (const std::string& group = it->second.fetch.group; !group.empty()) {
        const auto g = group_in_flight_.find(group);
        if (g != group_in_flight_.end() && --g->second == 0) group_in_flight_.erase(g);
      }
      in_flight_.erase(it);
    }
  }
  if (!live) {
    for (Callback& waiter : waiters) waiter(result);
    return;
  }
  for (Callback& waiter : waiters) waiter(live);
  // Read last, so that the waiters' readers come before the end. Weak: the
  // body holds its readers, and in_flight_ holds the file until Settle.
  live->live->Read(
      {.on_piece = nullptr,
       .on_end = [this, key, weak = std::weak_ptr<const UpstreamFile>(live)](bool complete) {
         if (std::shared_ptr<const UpstreamFile> file = weak.lock()) {
           Settle(key, file, complete);
         }
       }});
}

void UpstreamFetcher::Settle(const std::string& key,
                             const std::shared_ptr<const UpstreamFile>& file, bool complete) {
  // Built outside mu_ (a copy of the body); only a 200 may be kept.
  std::shared_ptr<const std::string> whole =
      complete && file->status == 200 ? file->live->Whole() : nullptr;
  std::lock_guard lock(mu_);
  const auto it = in_flight_.find(key);
  if (it == in_flight_.end() || it->second.file != file) return;
  if (whole) {
    auto kept = std::make_shared<UpstreamFile>(*file);
    kept->live.reset();
    kept->body = std::move(whole);
    KeepLocked(key, it->second.fetch, kept, clock_.Now());
  }
  if (const std::string& group = it->second.fetch.group; !group.empty()) {
    const auto g = group_in_flight_.find(group);
    if (g != group_in_flight_.end() && --g->second == 0) group_in_flight_.erase(g);
  }
  in_flight_.erase(it);
}

void UpstreamFetcher::KeepLocked(const std::string& key, const UpstreamFetch& fetch,
                                 const std::shared_ptr<const UpstreamFile>& file, WallTime now) {
  if (file->status != 200) return;
  if (fetch.kind == UpstreamKind::kPlaylist) {
    const std::optional<std::chrono::seconds> target = TargetDuration(*file->body);
    if (target) {
      if (target_durations_.size() >= kMaxReusedPlaylists) target_durations_.clear();
      target_durations_[WithoutQuery(fetch.url)] = *target;
    }
    std::chrono::milliseconds reuse = target ? std::chrono::milliseconds(*target) / 2
                                             : std::chrono::milliseconds(kMultivariantReuse);
    if (const auto max_age = CacheControlMaxAge(file->cache_control)) {
      reuse = std::min<std::chrono::milliseconds>(reuse, *max_age);
    }
    if (reuse.count() <= 0) return;
    if (playlists_.size() >= kMaxReusedPlaylists) {
      std::erase_if(playlists_, [&](const auto& kv) { return now >= kv.second.until; });
      if (playlists_.size() >= kMaxReusedPlaylists) playlists_.clear();
    }
    playlists_.insert_or_assign(key, Reused{file, now + reuse});
    return;
  }
  if (!fetch.range.empty() || file->body->size() > options_.cache_bytes) return;
  if (media_.contains(key)) return;
  while (!lru_.empty() && media_bytes_ + file->body->size() > options_.cache_bytes) {
    const auto oldest = media_.find(lru_.back());
    media_bytes_ -= oldest->second.file->body->size();
    media_.erase(oldest);
    lru_.pop_back();
  }
  lru_.push_front(key);
  media_.emplace(key, CacheEntry{file, lru_.begin()});
  media_bytes_ += file->body->size();
}

std::size_t UpstreamFetcher::CachedBytes() {
  std::lock_guard lock(mu_);
  return media_bytes_;
}

std::optional<std::chrono::seconds> CacheControlMaxAge(std::string_view cache_control) {
  const std::string lower = AsciiLower(cache_control);
  if (lower.find("no-cache") != std::string::npos || lower.find("no-store") != std::string::npos) {
    return std::chrono::seconds(0);
  }
  const std::size_t at = lower.find("max-age=");
  if (at == std::string::npos) return std::nullopt;
  const char* first = lower.data() + at + 8;
  long long seconds = 0;
  const auto [end, ec] = std::from_chars(first, lower.data() + lower.size(), seconds);
  if (ec != std::errc() || seconds < 0) return std::chrono::seconds(0);
  return std::chrono::seconds(seconds);
}

}  // namespace headcount
