#include "server/http_stream.h"

#include <utility>

namespace headcount {

bool HttpStream::Write(std::string_view chunk) {
  if (chunk.empty()) return !closed();
  return Queue(std::make_shared<const std::string>(chunk), chunk.size());
}

bool HttpStream::Write(std::shared_ptr<const std::string> chunk) {
  if (!chunk || chunk->empty()) return !closed();
  const std::size_t size = chunk->size();
  return Queue(std::move(chunk), size);
}

bool HttpStream::Queue(std::shared_ptr<const std::string> chunk, std::size_t size) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (aborted_ || ended_ || failed_) return false;
    if (pending_bytes_ + size > options_.max_pending_bytes) {
      aborted_ = true;
      pending_.clear();
      pending_bytes_ = 0;
    } else {
      pending_.push_back(std::move(chunk));
      pending_bytes_ += size;
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
    if (aborted_ || ended_ || failed_) return;
    ended_ = true;
    wake = wake_;
  }
  if (wake) wake();
}

void HttpStream::Fail() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (aborted_ || ended_ || failed_) return;
    failed_ = true;
    pending_.clear();
    pending_bytes_ = 0;
    wake = wake_;
  }
  if (wake) wake();
}

bool HttpStream::closed() const {
  std::lock_guard lock(mu_);
  return aborted_ || ended_ || failed_;
}

void HttpStream::Attach(const std::function<void()>& wake) {
  bool now = false;
  {
    std::lock_guard lock(mu_);
    if (aborted_) return;
    wake_ = wake;
    now = !pending_.empty() || ended_ || failed_;
  }
  if (now && wake) wake();
}

HttpStream::Pending HttpStream::Take() {
  std::lock_guard lock(mu_);
  Pending out;
  out.chunks = std::exchange(pending_, {});
  pending_bytes_ = 0;
  out.ended = ended_ || aborted_ || failed_;
  out.failed = failed_ || aborted_;
  return out;
}

std::string HttpStream::Pending::Joined() const {
  std::string out;
  for (const auto& chunk : chunks) out += *chunk;
  return out;
}

void HttpStream::Abort() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    aborted_ = true;
    pending_.clear();
    pending_bytes_ = 0;
    wake = std::exchange(wake_, nullptr);
  }
  // Destroyed outside the lock (it may hold the last reference to a session).
}

}  // namespace headcount
