// ViewerSimulator (see simulator.h). Every player is an async state machine on
// its own strand of one io_context and is touched only from that strand; what
// players share (counters, warning limiter) is atomic or read-only.
#include "viewers/simulator.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <exception>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/time_text.h"
#include "viewers/m3u8_reader.h"

namespace headcount {

struct SimulatorCounters {
  std::atomic<std::int64_t> players_started{0};
  std::atomic<std::int64_t> players_active{0};
  std::atomic<std::int64_t> playlist_requests{0};
  std::atomic<std::int64_t> segment_requests{0};
  std::atomic<std::int64_t> bytes{0};
  std::atomic<std::int64_t> errors{0};
};

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// Per request, from connect through the last body byte.
constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr std::uint64_t kMaxPlaylistBytes = std::uint64_t{1} << 20;
constexpr std::uint64_t kMaxSegmentBytes = std::uint64_t{64} << 20;
// Where a live player joins: this many segments back from the end (hls.js's
// liveSyncDurationCount). Also how far ahead a player of an ended stream buffers.
constexpr int kLiveEdgeSegments = 3;
// Reconnect backoff after network errors: doubles from min to max, +-25% jitter
// so that N players that lost the origin together do not return together.
constexpr milliseconds kMinBackoff{500};
constexpr milliseconds kMaxBackoff{30'000};
constexpr double kBackoffJitter = 0.25;
// Retry delay for the first playlist, before any target duration is known.
constexpr milliseconds kDefaultRetryDelay{2'000};
// Floor on the reload interval, so a "#EXT-X-TARGETDURATION:0" cannot make a
// player spin.
constexpr milliseconds kMinTargetDuration{500};
// A segment that fails this many times over the network is skipped.
constexpr int kMaxSegmentAttempts = 3;
// After this many failed reloads in a row, go back to the entry URL (like a
// viewer reloading the page): the session the origin gave may be gone.
constexpr int kMaxMediaFailuresBeforeRestart = 5;
// After this many reloads in a row whose last segment is older than what the
// player already has, assume the stream restarted and rejoin at the live edge.
constexpr int kMaxBackwardReloads = 3;
constexpr auto kStatsLogInterval = std::chrono::seconds(5);
// At most one warning line per interval across all players.
constexpr auto kWarnLogInterval = std::chrono::seconds(1);
// File descriptors a process needs besides one per player.
constexpr int kSpareFileDescriptors = 64;
constexpr std::string_view kUserAgent = "headcount-viewers/0.1";

SimulatorStats Snapshot(const SimulatorCounters& c) {
  SimulatorStats s;
  s.players_started = c.players_started.load();
  s.players_active = c.players_active.load();
  s.playlist_requests = c.playlist_requests.load();
  s.segment_requests = c.segment_requests.load();
  s.bytes = c.bytes.load();
  s.errors = c.errors.load();
  return s;
}

// A Beast body that counts bytes and keeps them only when asked (playlists):
// segment bodies are dropped as they arrive, so N players never hold N segments.
struct CountedBody {
  struct value_type {  // NOLINT(readability-identifier-naming): Beast's name
    bool keep_text = false;
    std::string text;
    std::uint64_t bytes = 0;
  };

  class reader {  // NOLINT(readability-identifier-naming): Beast's name
   public:
    template <bool kIsRequest, class Fields>
    reader(http::header<kIsRequest, Fields>& /*header*/, value_type& body) : body_(body) {}

    void init(  // NOLINT(readability-identifier-naming): Beast's name
        const boost::optional<std::uint64_t>& /*content_length*/, beast::error_code& ec) {
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(  // NOLINT(readability-identifier-naming): Beast's name
        const ConstBufferSequence& buffers, beast::error_code& ec) {
      std::size_t n = 0;
      for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
           ++it) {
        const net::const_buffer buffer = *it;
        if (body_.keep_text) {
          body_.text.append(static_cast<const char*>(buffer.data()), buffer.size());
        }
        n += buffer.size();
      }
      body_.bytes += n;
      ec = {};
      return n;
    }

    void finish(beast::error_code& ec) { ec = {}; }  // NOLINT(readability-identifier-naming)

   private:
    value_type& body_;
  };
};

// What all players of one Run() share. Lives longer than the io_context.
struct RunContext {
  RunContext(Url entry_url, SimulatorCounters& c, int players)
      : entry(std::move(entry_url)), counters(c), unfinished(players) {}

  const Url entry;
  tcp::resolver::results_type endpoints;  // set before players start, then read-only
  SimulatorCounters& counters;
  std::function<void()> stop_io;  // set before players start, then read-only
  std::atomic<int> unfinished;    // players that have not reached an #EXT-X-ENDLIST end
  std::atomic<std::int64_t> next_warn_ns{0};
  std::atomic<std::int64_t> suppressed_warnings{0};

  // Logs one warning unless one was logged less than kWarnLogInterval ago;
  // suppressed ones are counted in the next line. `path` must hold no query.
  void Warn(int player, std::string_view path, std::string_view why) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t next = next_warn_ns.load();
    const std::int64_t interval =
        std::chrono::duration_cast<std::chrono::nanoseconds>(kWarnLogInterval).count();
    if (now < next || !next_warn_ns.compare_exchange_strong(next, now + interval)) {
      ++suppressed_warnings;
      return;
    }
    const std::int64_t suppressed = suppressed_warnings.exchange(0);
    if (suppressed > 0) {
      spdlog::warn("viewers: player {}: {}: {} ({} similar warnings suppressed)", player, path, why,
                   suppressed);
    } else {
      spdlog::warn("viewers: player {}: {}: {}", player, path, why);
    }
  }
};

bool IsClosedByPeer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

// One virtual viewer: entry playlist -> first variant -> media playlist reloads
// and each new segment once, in order, over one keep-alive connection.
class Player : public std::enable_shared_from_this<Player> {
 public:
  Player(net::io_context& io, int index, RunContext& ctx)
      : index_(index),
        ctx_(ctx),
        stream_(net::make_strand(io)),
        timer_(stream_.get_executor()),
        rng_(static_cast<std::uint32_t>(index) + 1) {
    request_.version(11);
    request_.method(http::verb::get);
    request_.set(http::field::host, ctx_.entry.HostHeader());
    request_.set(http::field::user_agent, kUserAgent);
    request_.set(http::field::accept, "*/*");
  }

  ~Player() {
    if (active_) --ctx_.counters.players_active;
  }

  Player(const Player&) = delete;
  Player& operator=(const Player&) = delete;

  // Starts the player at `at`. Call once, before the io_context runs.
  void Start(SteadyTime at) {
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->active_ = true;
      ++self->ctx_.counters.players_started;
      ++self->ctx_.counters.players_active;
      self->FetchEntry();
    });
  }

 private:
  enum class Step { kEntry, kMedia, kSegment };  // what the request in flight is for

  struct Segment {
    std::int64_t sequence;
    std::string target;
  };

  void FetchEntry() {
    step_ = Step::kEntry;
    Send(ctx_.entry.Target());
  }
  void FetchMedia() {
    step_ = Step::kMedia;
    Send(media_url_.Target());
  }
  void FetchSegment() {
    step_ = Step::kSegment;
    Send(pending_.front().target);
  }
  // Sends again what failed (or, after a restart, the entry playlist).
  void Retry() {
    switch (step_) {
      case Step::kEntry:
        return FetchEntry();
      case Step::kMedia:
        return FetchMedia();
      case Step::kSegment:
        return FetchSegment();
    }
  }

  // Calls `next` at `at` (on this player's strand).
  void At(SteadyTime at, void (Player::*next)()) {
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this(), next](beast::error_code ec) {
      if (!ec) ((*self).*next)();
    });
  }
  void After(milliseconds delay, void (Player::*next)()) {
    At(std::chrono::steady_clock::now() + delay, next);
  }

  void Send(const std::string& target) {
    request_.target(target);
    request_start_ = std::chrono::steady_clock::now();
    const bool segment = step_ == Step::kSegment;
    ++(segment ? ctx_.counters.segment_requests : ctx_.counters.playlist_requests);
    parser_.emplace();
    parser_->body_limit(segment ? kMaxSegmentBytes : kMaxPlaylistBytes);
    parser_->get().body().keep_text = !segment;
    if (connected_) {
      Write();
      return;
    }
    reused_connection_ = false;
    stream_.expires_after(kRequestTimeout);
    stream_.async_connect(ctx_.endpoints,
                          beast::bind_front_handler(&Player::OnConnect, shared_from_this()));
  }

  void OnConnect(beast::error_code ec, const tcp::endpoint& /*endpoint*/) {
    if (ec) return OnNetworkError(ec);
    connected_ = true;
    requests_on_connection_ = 0;
    Write();
  }

  void Write() {
    reused_connection_ = requests_on_connection_ > 0;
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, request_,
                      beast::bind_front_handler(&Player::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return OnNetworkError(ec);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Player::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec == http::error::body_limit) {
      Close();  // the rest of the body is still on the wire
      return OnRejected(step_ == Step::kSegment ? "segment larger than kMaxSegmentBytes"
                                                : "playlist larger than kMaxPlaylistBytes");
    }
    if (ec) return OnNetworkError(ec);
    stream_.expires_never();
    ++requests_on_connection_;
    stale_retry_used_ = false;
    auto& response = parser_->get();
    ctx_.counters.bytes += static_cast<std::int64_t>(response.body().bytes);
    if (!response.keep_alive()) Close();
    const unsigned status = response.result_int();
    if (status < 200 || status > 299) return OnRejected("HTTP " + std::to_string(status));
    backoff_ = kMinBackoff;
    switch (step_) {
      case Step::kEntry:
        return OnEntryLoaded(response.body().text);
      case Step::kMedia:
        return OnMediaLoaded(response.body().text);
      case Step::kSegment:
        pending_.pop_front();
        segment_attempts_ = 0;
        ++segments_loaded_;
        return ContinueSegments();
    }
  }

  void OnEntryLoaded(const std::string& text) {
    Result<M3u8Playlist> playlist = ParseM3u8(text);
    if (!playlist.ok()) return OnRejected(playlist.error().message());
    if (!playlist->multivariant) {  // the URL was a media playlist: reload it as is
      media_url_ = ctx_.entry;
      return OnPlaylist(*playlist, text);
    }
    Result<Url> variant = ResolveReference(ctx_.entry, playlist->variant_uris.front());
    if (!variant.ok()) return OnRejected(variant.error().message());
    media_url_ = std::move(*variant);  // keeps its query: the session id lives there
    FetchMedia();
  }

  void OnMediaLoaded(const std::string& text) {
    Result<M3u8Playlist> playlist = ParseM3u8(text);
    if (!playlist.ok()) return OnRejected(playlist.error().message());
    if (playlist->multivariant) {
      return OnRejected("variant playlist where a media playlist was due");
    }
    OnPlaylist(*playlist, text);
  }

  // Queues the segments of `playlist` this player has not fetched yet and
  // plans the next reload (RFC 8216 §6.3.4).
  void OnPlaylist(const M3u8Playlist& playlist, std::string_view text) {
    media_failures_ = 0;
    target_duration_ = std::max<milliseconds>(playlist.target_duration, kMinTargetDuration);
    const std::size_t hash = std::hash<std::string_view>{}(text);
    const bool changed = !loaded_media_ || hash != playlist_hash_;
    playlist_hash_ = hash;

    const std::int64_t first = playlist.media_sequence;
    const std::int64_t end = first + static_cast<std::int64_t>(playlist.segment_uris.size());
    const std::int64_t live_edge = std::max(first, end - kLiveEdgeSegments);
    if (!loaded_media_) {
      next_sequence_ = playlist.ended ? first : live_edge;
    } else if (end < next_sequence_) {
      // The playlist went backwards: a stale cache (wait it out), or the
      // stream restarted with new numbers (rejoin).
      if (++backward_reloads_ >= kMaxBackwardReloads) {
        next_sequence_ = live_edge;
        backward_reloads_ = 0;
      }
    } else {
      backward_reloads_ = 0;
    }
    loaded_media_ = true;
    next_sequence_ = std::max(next_sequence_, first);  // missed segments are gone

    for (std::int64_t seq = next_sequence_; seq < end; ++seq) {
      const std::string& uri = playlist.segment_uris[static_cast<std::size_t>(seq - first)];
      Result<Url> url = ResolveReference(media_url_, uri);
      if (!url.ok()) {
        ++ctx_.counters.errors;
        ctx_.Warn(index_, media_url_.path, url.error().message());
        continue;
      }
      pending_.push_back({seq, url->Target()});
    }
    next_sequence_ = std::max(next_sequence_, end);
    ended_ = playlist.ended;
    // From when this load began: a full target duration after a change, half
    // of it when nothing changed.
    reload_at_ = request_start_ + (changed ? target_duration_ : target_duration_ / 2);
    ContinueSegments();
  }

  // Fetches the next queued segment, or waits for the next reload, or ends.
  void ContinueSegments() {
    if (!pending_.empty()) {
      // A stream that ended is not live: keep a few segments ahead, then
      // fetch at playback pace instead of all at once.
      if (ended_ && segments_loaded_ >= kLiveEdgeSegments) {
        return After(target_duration_, &Player::FetchSegment);
      }
      return FetchSegment();
    }
    if (ended_) return Finish();
    At(reload_at_, &Player::FetchMedia);
  }

  // The origin answered but not with something playable (HTTP status, bad
  // playlist, too large). Skips a segment; retries a playlist later.
  void OnRejected(const std::string& why) {
    ++ctx_.counters.errors;
    ctx_.Warn(index_, PathForLog(std::string_view(request_.target())), why);
    if (step_ == Step::kSegment) {
      pending_.pop_front();
      segment_attempts_ = 0;
      return ContinueSegments();
    }
    if (step_ == Step::kMedia && ++media_failures_ >= kMaxMediaFailuresBeforeRestart &&
        media_url_.Target() != ctx_.entry.Target()) {
      step_ = Step::kEntry;  // start over, like a reloaded page
      media_failures_ = 0;
      loaded_media_ = false;
      pending_.clear();
    }
    const milliseconds base = loaded_media_ ? target_duration_ : kDefaultRetryDelay;
    After(std::max(base, NextBackoff()), &Player::Retry);
  }

  // Could not reach the origin, or the connection broke. Reconnects after a
  // backoff; a segment that keeps failing is skipped.
  void OnNetworkError(const beast::error_code& ec) {
    const bool stale = reused_connection_ && !stale_retry_used_ && IsClosedByPeer(ec);
    Close();
    if (stale) {
      // The origin closed an idle keep-alive connection as we reused it:
      // retry at once on a new one, as browsers do. Not an error.
      stale_retry_used_ = true;
      return Retry();
    }
    ++ctx_.counters.errors;
    ctx_.Warn(index_, PathForLog(std::string_view(request_.target())), ec.message());
    if (step_ == Step::kSegment && ++segment_attempts_ >= kMaxSegmentAttempts) {
      pending_.pop_front();
      segment_attempts_ = 0;
      return After(NextBackoff(), &Player::ContinueSegments);
    }
    After(NextBackoff(), &Player::Retry);
  }

  // The current backoff with jitter; doubles the next one.
  milliseconds NextBackoff() {
    std::uniform_real_distribution<double> jitter(1.0 - kBackoffJitter, 1.0 + kBackoffJitter);
    const auto delay = milliseconds(
        static_cast<std::int64_t>(static_cast<double>(backoff_.count()) * jitter(rng_)));
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    return delay;
  }

  // The stream ended and every segment was fetched: this viewer leaves.
  void Finish() {
    Close();
    active_ = false;
    --ctx_.counters.players_active;
    spdlog::debug("viewers: player {} reached the end of the stream", index_);
    if (--ctx_.unfinished == 0) ctx_.stop_io();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    connected_ = false;
    buffer_.consume(buffer_.size());  // unread bytes belonged to the old connection
  }

  const int index_;
  RunContext& ctx_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  std::minstd_rand rng_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<CountedBody>> parser_;

  bool active_ = false;  // counted in players_active
  Step step_ = Step::kEntry;
  SteadyTime request_start_;
  bool connected_ = false;
  int requests_on_connection_ = 0;
  bool reused_connection_ = false;  // the request in flight went on a used connection
  bool stale_retry_used_ = false;
  milliseconds backoff_ = kMinBackoff;
  int segment_attempts_ = 0;
  int media_failures_ = 0;

  Url media_url_;  // the media playlist's URL, with its query
  bool loaded_media_ = false;
  std::size_t playlist_hash_ = 0;
  milliseconds target_duration_ = kDefaultRetryDelay;
  std::int64_t next_sequence_ = 0;  // the first sequence number not yet queued
  int backward_reloads_ = 0;
  bool ended_ = false;
  SteadyTime reload_at_;
  std::deque<Segment> pending_;  // queued segments, in order
  std::int64_t segments_loaded_ = 0;
};

// Logs the counters every kStatsLogInterval, with rates since the last line.
class StatsReporter {
 public:
  StatsReporter(net::io_context& io, const SimulatorCounters& counters)
      : timer_(io), counters_(counters), last_(Snapshot(counters)), last_at_(Now()) {}

  void Start() {
    timer_.expires_after(kStatsLogInterval);
    timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      Log("");
      Start();
    });
  }

  // `prefix` marks special lines, e.g. "final: ".
  void Log(std::string_view prefix) {
    const SimulatorStats now = Snapshot(counters_);
    const SteadyTime at = Now();
    const double seconds = std::max(std::chrono::duration<double>(at - last_at_).count(), 1e-3);
    const auto rate = [seconds](std::int64_t d) { return static_cast<double>(d) / seconds; };
    spdlog::info(
        "viewers: {}{}/{} players active/started, {:.1f} requests/s ({:.1f} playlists/s, {:.1f} "
        "segments/s), {:.2f} MB/s, {} errors ({} new)",
        prefix, now.players_active, now.players_started,
        rate(now.playlist_requests + now.segment_requests - last_.playlist_requests -
             last_.segment_requests),
        rate(now.playlist_requests - last_.playlist_requests),
        rate(now.segment_requests - last_.segment_requests), rate(now.bytes - last_.bytes) / 1e6,
        now.errors, now.errors - last_.errors);
    last_ = now;
    last_at_ = at;
  }

 private:
  static SteadyTime Now() { return std::chrono::steady_clock::now(); }

  net::steady_timer timer_;
  const SimulatorCounters& counters_;
  SimulatorStats last_;
  SteadyTime last_at_;
};

void WarnIfFewFileDescriptors(int players) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  const auto needed = static_cast<rlim_t>(players) + kSpareFileDescriptors;
  if (limit.rlim_cur < needed) {
    spdlog::warn(
        "viewers: {} players need about {} file descriptors but the limit is {}; raise it "
        "(ulimit -n) or connections will fail",
        players, needed, limit.rlim_cur);
  }
}

Status CheckOptions(const SimulatorOptions& o) {
  if (o.count < 1 || o.count > kMaxPlayers) {
    return Error::InvalidArgument("count must be between 1 and " + std::to_string(kMaxPlayers));
  }
  if (o.threads < 1 || o.threads > kMaxSimulatorThreads) {
    return Error::InvalidArgument("threads must be between 1 and " +
                                  std::to_string(kMaxSimulatorThreads));
  }
  if (o.ramp.count() < 0) return Error::InvalidArgument("ramp must not be negative");
  if (o.duration.count() < 0) return Error::InvalidArgument("duration must not be negative");
  return Status();
}

}  // namespace

ViewerSimulator::ViewerSimulator(SimulatorOptions options)
    : options_(std::move(options)), counters_(std::make_unique<SimulatorCounters>()) {}

ViewerSimulator::~ViewerSimulator() = default;

SimulatorStats ViewerSimulator::stats() const { return Snapshot(*counters_); }

void ViewerSimulator::Stop() {
  const std::lock_guard<std::mutex> lock(mu_);
  stop_requested_ = true;
  if (stop_running_) stop_running_();
}

Status ViewerSimulator::Run() {
  {
    const std::lock_guard<std::mutex> lock(mu_);
    if (run_called_) return Error::InvalidArgument("ViewerSimulator::Run may be called only once");
    run_called_ = true;
  }
  if (Status s = CheckOptions(options_); !s.ok()) return s;
  Result<Url> entry = ParseHttpUrl(options_.url);
  if (!entry.ok()) return Error::InvalidArgument("url: " + entry.error().message());
  WarnIfFewFileDescriptors(options_.count);

  try {
    // Declared before the io_context: players destroyed with it still use it.
    RunContext ctx(*entry, *counters_, options_.count);
    net::io_context io(options_.threads);

    // Every player connects to the same origin: resolve it once.
    tcp::resolver resolver(io);
    beast::error_code ec;
    ctx.endpoints = resolver.resolve(entry->host, std::to_string(entry->port), ec);
    if (ec) return Error::Unavailable("cannot resolve the stream's host: " + ec.message());
    ctx.stop_io = [&io] { io.stop(); };
    {
      const std::lock_guard<std::mutex> lock(mu_);
      if (stop_requested_) return Status();
      stop_running_ = [&io] { io.stop(); };
    }
    spdlog::info("viewers: {} players on {}{} (ramp {}, {})", options_.count, entry->HostHeader(),
                 entry->path, FormatDuration(options_.ramp),
                 options_.duration.count() > 0 ? "for " + FormatDuration(options_.duration)
                                               : std::string("until stopped"));

    std::vector<std::thread> workers;
    std::atomic<bool> failed{false};
    // Stops and joins everything; runs before `io` and the players go away.
    const auto finish = [&] {
      io.stop();
      for (std::thread& w : workers) {
        if (w.joinable()) w.join();
      }
      const std::lock_guard<std::mutex> lock(mu_);
      stop_running_ = nullptr;
    };
    const SteadyTime start = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Player>> players;
    std::optional<StatsReporter> reporter;
    net::steady_timer deadline(io);
    try {
      players.reserve(static_cast<std::size_t>(options_.count));
      for (int i = 0; i < options_.count; ++i) {
        players.push_back(std::make_shared<Player>(io, i, ctx));
        players.back()->Start(start + options_.ramp * i / options_.count);
      }
      reporter.emplace(io, *counters_);
      reporter->Start();
      if (options_.duration.count() > 0) {
        deadline.expires_at(start + options_.duration);
        deadline.async_wait([&io](beast::error_code wait_ec) {
          if (!wait_ec) io.stop();
        });
      }
      const auto run = [&io, &failed] {
        try {
          io.run();
        } catch (const std::exception& e) {
          spdlog::error("viewers: stopping after an unexpected error: {}", e.what());
          failed = true;
          io.stop();
        }
      };
      for (int t = 1; t < options_.threads; ++t) workers.emplace_back(run);
      run();
    } catch (...) {
      finish();
      throw;
    }
    finish();
    reporter->Log("final: ");
    // Players with pending handlers are destroyed with `io`, closing their
    // connections; players_active drops to 0.
    players.clear();
    if (failed) return Error::Internal("viewer simulator stopped after an unexpected error");
    return Status();
  } catch (const std::exception& e) {
    return Error::Internal(std::string("viewer simulator failed: ") + e.what());
  }
}

}  // namespace headcount
