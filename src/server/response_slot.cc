// The hand-over of answers given later (see response_slot.h).
#include "server/response_slot.h"

#include <boost/asio/post.hpp>

namespace headcount::http_internal {
namespace {

// The ResponseSlot whose handler runs on this thread now, if any (see
// ResponseSlot::InlineScope).
thread_local const ResponseSlot* answering_inline = nullptr;

}  // namespace

ResponseSlot::InlineScope::InlineScope(const ResponseSlot& slot) : previous_(answering_inline) {
  answering_inline = &slot;
}

ResponseSlot::InlineScope::~InlineScope() { answering_inline = previous_; }

void ResponseSlot::Complete(std::uint64_t ticket, HttpResponse response) {
  if (!Claim(ticket)) return;  // answered already, timed out, or the connection is gone
  if (answering_inline == this) {
    immediate_ = std::move(response);
    return;
  }
  // The connection is looked up under the gate's lock, while its I/O context
  // is sure to be alive; the posted handler then holds it until it runs, or
  // until Stop destroys the context (and the handler with it).
  gate_->RunWhileOpen([&] {
    std::shared_ptr<LateResponseTarget> target = target_.lock();
    if (!target) return;  // the connection is gone: dropped
    boost::asio::post(
        executor_, [target = std::move(target), ticket, response = std::move(response)]() mutable {
          target->OnLateResponse(ticket, std::move(response));
        });
  });
}

}  // namespace headcount::http_internal
