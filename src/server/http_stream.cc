#include "server/http_stream.h"

#include <utility>

namespace headcount {

bool HttpStream::Write(std::string_view chunk) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (aborted_ || ended_) return false;
    if (pending_.size() + chunk.size() > options_.max_pending_bytes) {
      aborted_ = true;
      pending_.clear();
    } else {
      pending_ += chunk;
    }
    wake = wake_;
  }
  // Outside the lock: it posts to the connection, which then Take()s.
  if (wake) wake();
  return !closed();
}

void HttpStream::End() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (aborted_ || ended_) return;
    ended_ = true;
    wake = wake_;
  }
  if (wake) wake();
}

bool HttpStream::closed() const {
  std::lock_guard lock(mu_);
  return aborted_ || ended_;
}

void HttpStream::Attach(const std::function<void()>& wake) {
  bool now = false;
  {
    std::lock_guard lock(mu_);
    if (aborted_) return;
    wake_ = wake;
    now = !pending_.empty() || ended_;
  }
  if (now && wake) wake();
}

HttpStream::Pending HttpStream::Take() {
  std::lock_guard lock(mu_);
  Pending out;
  out.bytes = std::exchange(pending_, {});
  out.ended = ended_ || aborted_;
  return out;
}

void HttpStream::Abort() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    aborted_ = true;
    pending_.clear();
    wake = std::exchange(wake_, nullptr);
  }
  // Destroyed outside the lock (it may hold the last reference to a session).
}

}  // namespace headcount
