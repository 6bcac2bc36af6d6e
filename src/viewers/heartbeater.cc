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

Heartbeater::Heartbeater(boost::asio::io_context& io, int index, RunContext& ctx)
    : index_(index),
      ctx_(ctx),
      connection_(std::make_shared<OriginConnection>(boost::asio::make_strand(io), ctx)),
      alarm_(ctx.alarms.NewAlarm(connection_->executor())),
      rng_(static_cast<std::uint32_t>(index) + 7919),
      interval_(kDefaultHeartbeatInterval),
      backoff_(kMinHeartbeatBackoff) {}

void Heartbeater::Start(WallTime at) {
  alarm_->WakeAt(at, [self = shared_from_this()] { self->RequestToken(); });
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
