// Test support: the body of a response as a viewer receives it, whole
// (HttpResponse::body / shared_body) or streamed (HttpResponse::stream, read
// as the server would, until the producer ends or breaks it off). For tests
// only; call it off the thread that produces the stream.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "server/http.h"
#include "server/http_stream.h"

namespace headcount::testing {

struct Drained {
  std::string bytes;
  bool complete = false;  // false: broken off, or still open at the deadline
};

// Reads `r`'s stream until it ends or `timeout` passes (or takes its whole body).
inline Drained Drain(const HttpResponse& r,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  if (!r.stream) return {std::string(r.BodyView()), true};
  Drained out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    HttpStream::Pending pending = r.stream->Take();
    out.bytes += pending.Joined();
    if (pending.ended) {
      out.complete = !pending.failed;
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return out;
}

// Reads from `r`'s stream until it holds at least `n` bytes (appended to
// `bytes`), it ends, or `timeout` passes; true when `n` came.
inline bool DrainAtLeast(const HttpResponse& r, std::size_t n, std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (bytes.size() < n && std::chrono::steady_clock::now() < deadline) {
    HttpStream::Pending pending = r.stream->Take();
    bytes += pending.Joined();
    if (pending.ended) break;
    if (bytes.size() < n) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return bytes.size() >= n;
}

// `r` with a streamed body read into `body` (the stream dropped), so that
// BodyView() shows what the viewer received.
inline HttpResponse WithWholeBody(HttpResponse r) {
  if (!r.stream) return r;
  r.body = Drain(r).bytes;
  r.stream.reset();
  return r;
}

}  // namespace headcount::testing
