#include "viewers/heartbeater.h"

#include <algorithm>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>
#include <utility>

namespace headcount::viewers {
namespace {

using std::chrono::milliseconds;

// Until a token's answer says otherwise (heartbeat_s).
constexpr milliseconds kDefaultHeartbeatInterval{10'000};
// The least interval a token's answer may set, so a bad answer cannot make
// a player spin.
constexpr milliseconds kMinHeartbeatInterval{1'000};
// Retries after a failure: doubling from min to max, +-25% jitter.
constexpr milliseconds kMinHeartbeatBackoff{1'000};
constexpr milliseconds kMaxHeartbeatBackoff{30'000};
constexpr double kHeartbeatJitter = 0.25;

}  // namespace

Heartbeater::Heartbeater(boost::asio::io_context& io, int index, RunContext& ctx, Protocol protocol,
                         std::string sid)
    : index_(index),
      ctx_(ctx),
      protocol_(protocol),
      sid_(std::move(sid)),
      connection_(std::make_shared<OriginConnection>(boost::asio::make_strand(io), ctx)),
      alarm_(ctx.alarms.NewAlarm(connection_->executor())),
      rng_(static_cast<std::uint32_t>(index) + 7919),
      interval_(kDefaultHeartbeatInterval),
      backoff_(kMinHeartbeatBackoff) {}

void Heartbeater::Start(WallTime at) {
  alarm_->WakeAt(at, [self = shared_from_this()] {
    if (self->protocol_ == Protocol::kCmcd) return self->Report();
    self->RequestToken();
  });
}

void Heartbeater::Report() {
  // hls.js's keys, in its order (sorted): the first report says starting,
  // the second playing (the sid counts from then on), then one e=t a
  // kCmcdReportInterval, still playing.
  const std::string_view event = sn_ < 2 ? "ps" : "t";
  const std::string_view state = sn_ == 0 ? "s" : "p";
  const auto ts =
      std::chrono::duration_cast<milliseconds>(ctx_.alarms.clock().Now().time_since_epoch())
          .count();
  std::string body = "cid=\"" + ctx_.channel + "\",e=" + std::string(event) + ",sf=h,sid=\"" +
                     sid_ + "\",sn=" + std::to_string(sn_) + ",st=l,sta=" + std::string(state) +
                     ",ts=" + std::to_string(ts) + ",v=2\n";
  connection_->Post(
      ctx_.api_prefix + "cmcd", std::move(body),
      [self = shared_from_this()](Result<OriginConnection::Response> r) {
        self->OnReport(std::move(r));
      },
      "application/cmcd");
}

void Heartbeater::OnReport(Result<OriginConnection::Response> response) {
  if (!response.ok()) return Fail(response.error().message(), &Heartbeater::Report);
  if (response->status != 204) {
    return Fail("HTTP " + std::to_string(response->status), &Heartbeater::Report);
  }
  ++ctx_.counters.heartbeats_sent;
  backoff_ = kMinHeartbeatBackoff;
  // The play-state reports go one after the other, as a player's do.
  if (++sn_ < 2) return Report();
  After(kCmcdReportInterval, &Heartbeater::Report);
}

void Heartbeater::RequestToken() {
  connection_->Post(ctx_.api_prefix + "viewers", "",
                    [self = shared_from_this()](Result<OriginConnection::Response> r) {
                      self->OnToken(std::move(r));
                    });
}

void Heartbeater::OnToken(Result<OriginConnection::Response> response) {
  if (!response.ok()) return Fail(response.error().message(), &Heartbeater::RequestToken);
  if (response->status != 201) {
    return Fail("HTTP " + std::to_string(response->status), &Heartbeater::RequestToken);
  }
  const nlohmann::json body = nlohmann::json::parse(response->text, nullptr, false);
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
    return Fail("no token in the answer", &Heartbeater::RequestToken);
  }
  token_ = body["token"].get<std::string>();
  if (body.contains("heartbeat_s") && body["heartbeat_s"].is_number()) {
    interval_ =
        std::max(kMinHeartbeatInterval,
                 milliseconds(static_cast<std::int64_t>(body["heartbeat_s"].get<double>() * 1000)));
  }
  backoff_ = kMinHeartbeatBackoff;
  Beat();
}

void Heartbeater::Beat() {
  connection_->Post(ctx_.api_prefix + "heartbeat", nlohmann::json{{"token", token_}}.dump(),
                    [self = shared_from_this()](Result<OriginConnection::Response> r) {
                      self->OnBeat(std::move(r));
                    });
}

void Heartbeater::OnBeat(Result<OriginConnection::Response> response) {
  if (!response.ok()) return Fail(response.error().message(), &Heartbeater::Beat);
  if (response->status == 403) {  // expired (a restart, a long outage): start over
    return Fail("token refused (HTTP 403)", &Heartbeater::RequestToken);
  }
  if (response->status != 204) {
    return Fail("HTTP " + std::to_string(response->status), &Heartbeater::Beat);
  }
  ++ctx_.counters.heartbeats_sent;
  backoff_ = kMinHeartbeatBackoff;
  After(interval_, &Heartbeater::Beat);
}

void Heartbeater::Fail(const std::string& why, void (Heartbeater::*next)()) {
  ++ctx_.counters.errors;
  ctx_.Warn(index_, PathForLog(connection_->target()), why);
  std::uniform_real_distribution<double> jitter(1.0 - kHeartbeatJitter, 1.0 + kHeartbeatJitter);
  const auto delay =
      milliseconds(static_cast<std::int64_t>(static_cast<double>(backoff_.count()) * jitter(rng_)));
  backoff_ = std::min(backoff_ * 2, kMaxHeartbeatBackoff);
  After(delay, next);
}

void Heartbeater::After(milliseconds delay, void (Heartbeater::*next)()) {
  alarm_->WakeAt(ctx_.alarms.clock().Now() + delay,
                 [self = shared_from_this(), next] { ((*self).*next)(); });
}

}  // namespace headcount::viewers
