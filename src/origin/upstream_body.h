// UpstreamBody: the body of one upstream media response while it arrives,
// shared by every viewer it serves: each piece is handed to the viewers
// reading it as it comes (never copied per viewer), and kept, so that a
// viewer who joins later gets the pieces so far first and the cache gets
// the whole body once it is complete. What it keeps is bounded by the
// response's bound (the HTTP client's max_response_bytes). Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace headcount {

class UpstreamBody {
 public:
  // One reader of the body. on_piece (may be null) gets every piece in
  // order; it is called under the body's lock, so it must be quick and must
  // not call back into the body; false stops the reading (on_end is then
  // not called). on_end gets whether the body came complete (false: it
  // broke off), once, without the lock.
  struct Reader {
    std::function<bool(const std::shared_ptr<const std::string>& piece)> on_piece;
    std::function<void(bool complete)> on_end;
  };

  // `content_length`: as the upstream announced it, if it did.
  explicit UpstreamBody(std::optional<std::uint64_t> content_length) {
    SetContentLength(content_length);
  }
  UpstreamBody(const UpstreamBody&) = delete;
  UpstreamBody& operator=(const UpstreamBody&) = delete;

  // Lock-free: a reader may ask it.
  std::optional<std::uint64_t> content_length() const {
    const std::uint64_t length = content_length_.load();
    return length == kUnknownLength ? std::nullopt : std::optional<std::uint64_t>(length);
  }
  // For a body made from another (a rewrite): its length, known only once
  // its first piece is; set before appending that piece.
  void SetContentLength(std::optional<std::uint64_t> content_length) {
    content_length_.store(content_length.value_or(kUnknownLength));
  }

  // Hands `reader` the pieces so far, at once on this thread, then every
  // later piece and the end as they come (on the thread that appends), or
  // the end at once when the body has ended already.
  void Read(Reader reader);

  // The fetcher's side: the next piece of the body; the end of it.
  void Append(std::string piece);
  void End(bool complete);

  // The whole body in one buffer once it came complete (built on the first
  // call); null before, or when it broke off.
  std::shared_ptr<const std::string> Whole();

 private:
  enum class State { kArriving, kComplete, kBroken };

  static constexpr std::uint64_t kUnknownLength = ~std::uint64_t{0};
  std::atomic<std::uint64_t> content_length_{kUnknownLength};

  // Guarded by mu_.
  std::mutex mu_;
  std::vector<std::shared_ptr<const std::string>> pieces_;
  std::size_t bytes_ = 0;
  State state_ = State::kArriving;
  std::vector<Reader> readers_;  // while arriving
  std::shared_ptr<const std::string> whole_;
};

}  // namespace headcount
