// The body of an upstream media response while it arrives (see upstream_body.h).
#include "origin/upstream_body.h"

#include <algorithm>
#include <utility>

namespace headcount {

void UpstreamBody::Read(Reader reader) {
  std::unique_lock lock(mu_);
  if (reader.on_piece) {
    for (const std::shared_ptr<const std::string>& piece : pieces_) {
      if (!reader.on_piece(piece)) return;
    }
  }
  if (state_ == State::kArriving) {
    readers_.push_back(std::move(reader));
    return;
  }
  const bool complete = state_ == State::kComplete;
  lock.unlock();
  if (reader.on_end) reader.on_end(complete);
}

void UpstreamBody::Append(std::string piece) {
  if (piece.empty()) return;
  auto shared = std::make_shared<const std::string>(std::move(piece));
  std::lock_guard lock(mu_);
  if (state_ != State::kArriving) return;
  bytes_ += shared->size();
  pieces_.push_back(shared);
  std::erase_if(readers_,
                [&](const Reader& reader) { return reader.on_piece && !reader.on_piece(shared); });
}

void UpstreamBody::End(bool complete) {
  std::vector<Reader> readers;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kArriving) return;
    // Fewer bytes than announced is a broken body, whatever the connection said.
    if (const auto length = content_length(); complete && length && bytes_ != *length) {
      complete = false;
    }
    state_ = complete ? State::kComplete : State::kBroken;
    readers = std::move(readers_);
  }
  for (Reader& reader : readers) {
    if (reader.on_end) reader.on_end(complete);
  }
}

std::shared_ptr<const std::string> UpstreamBody::Whole() {
  std::lock_guard lock(mu_);
  if (state_ != State::kComplete) return nullptr;
  if (!whole_) {
    std::string bytes;
    bytes.reserve(bytes_);
    for (const std::shared_ptr<const std::string>& piece : pieces_) bytes += *piece;
    whole_ = std::make_shared<const std::string>(std::move(bytes));
  }
  return whole_;
}

}  // namespace headcount
