// HttpServer's hand-over of answers given later (internal to src/server):
// each connection's ResponseSlot takes the response to its current request
// once, from whatever thread answers, and hands it to the connection on its
// own I/O thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "server/http.h"
#include "server/http_connection.h"

namespace headcount::http_internal {

// The connection a ResponseSlot answers for.
class LateResponseTarget {
 public:
  virtual ~LateResponseTarget() = default;
  // The answer to request `ticket`, which the handler gave later; called on
  // the connection's I/O thread.
  virtual void OnLateResponse(std::uint64_t ticket, HttpResponse response) = 0;
};

// A connection's end of the HttpResponders it hands to the handler, one per
// request: takes each request's response once, from whatever thread
// answers. An answer given while the handler runs, on its thread, is kept
// for the connection to send when the handler returns (no thread hop, no
// allocation); a later one is posted to the connection's I/O context through
// the server's ResponseGate. Shared with the responders, so one may outlive
// its connection and the server: its answer is then dropped. Thread-safe
// where noted; the rest is for the connection's I/O thread.
class ResponseSlot final : public HttpResponder::Sink {
 public:
  ResponseSlot(std::weak_ptr<LateResponseTarget> target, Executor executor,
               std::shared_ptr<ResponseGate> gate)
      : target_(std::move(target)), executor_(std::move(executor)), gate_(std::move(gate)) {}

  // Opens the next request of the connection for an answer; its ticket.
  std::uint64_t Open() {
    open_ticket_.store(++last_ticket_);
    return last_ticket_;
  }
  // No answer is taken any more (the connection is going away).
  void Close() { open_ticket_.store(0); }
  // The right to answer `ticket`: true for the first caller (the handler's
  // responder, the response timer, the exception handler), false after.
  // Any thread.
  bool Claim(std::uint64_t ticket) {
    std::uint64_t expected = ticket;
    return ticket != 0 && open_ticket_.compare_exchange_strong(expected, 0);
  }

  // HttpResponder::Sink; any thread.
  void Complete(std::uint64_t ticket, HttpResponse response) override;

  // While one lives, an answer given on this thread is kept for
  // TakeImmediate instead of being posted. Around the handler call.
  class InlineScope {
   public:
    explicit InlineScope(const ResponseSlot& slot);
    ~InlineScope();
    InlineScope(const InlineScope&) = delete;
    InlineScope& operator=(const InlineScope&) = delete;

   private:
    const ResponseSlot* const previous_;
  };

  // The answer given inside the InlineScope, if any.
  std::optional<HttpResponse> TakeImmediate() { return std::exchange(immediate_, std::nullopt); }

 private:
  const std::weak_ptr<LateResponseTarget> target_;
  const Executor executor_;
  const std::shared_ptr<ResponseGate> gate_;
  std::atomic<std::uint64_t> open_ticket_{0};  // 0: none; any thread
  std::uint64_t last_ticket_ = 0;
  std::optional<HttpResponse> immediate_;
};

}  // namespace headcount::http_internal
