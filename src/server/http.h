// The HTTP types every handler in headcount sees: a parsed request, a
// response value and the responder that sends it, independent of Beast, so
// handlers are functions that tests call without sockets. HttpRequest and
// HttpResponse are value types, not synchronized; HttpResponder is
// thread-safe as documented below.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace headcount {

class HttpStream;

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // as received: "/hls/demo/stream.m3u8?hcs=..."
  std::string path;    // percent-decoded path, no query: "/hls/demo/stream.m3u8"
  std::multimap<std::string, std::string> query;  // percent-decoded parameters
  std::map<std::string, std::string> headers;     // lower-case names
  std::string client_address;                     // peer IP, e.g. "127.0.0.1"
  std::string body;

  // First value of query parameter `name`, if present.
  std::optional<std::string> Query(std::string_view name) const;
  // Value of header `lower_case_name`, if present.
  std::optional<std::string> Header(std::string_view lower_case_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // When set, the body is these bytes, sent from where they are (body is
  // ignored): a cache's copy, shared by every response that sends it, is
  // never copied per request.
  std::shared_ptr<const std::string> shared_body;
  // When set, the body is this file, streamed by the server (body and
  // shared_body are ignored).
  std::optional<std::filesystem::path> file;
  // When set, the body is what this stream is written, sent as it comes
  // until it ends (server/http_stream.h; body and file are ignored). The
  // connection closes after it.
  std::shared_ptr<HttpStream> stream;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  // The body's bytes, wherever they are held: shared_body when set, else
  // body (a file's or a stream's are not here).
  std::string_view BodyView() const {
    return shared_body ? std::string_view(*shared_body) : std::string_view(body);
  }

  static HttpResponse Json(int status, std::string body);
  static HttpResponse Text(int status, std::string body);
  // {"error":"<message>"} with `status`, for every 4xx/5xx a handler returns.
  static HttpResponse Error(int status, std::string_view message);
  // 503 {"error":"<message>"} with `Retry-After: <seconds>`: the server is
  // busy (a limit on work in flight is reached), ask again later.
  static HttpResponse Unavailable(std::string_view message, std::chrono::seconds retry_after);
  // 429 {"error":"<message>"} with `Retry-After: <seconds>`: this client is
  // over its rate, ask again later.
  static HttpResponse TooManyRequests(std::string_view message, std::chrono::seconds retry_after);
};

// Sends the response to one request, now or later. The server hands one to
// an AsyncHttpHandler with each request. Contract:
// - Respond() at most once, from any thread; later calls do nothing.
// - Called before the handler returns, on the handler's thread, the response
//   goes out from there (no thread hop). Called later or from another
//   thread, it is posted to the connection's I/O thread.
// - A responder destroyed without having responded answers 500 {"error":
//   "internal error"}, so a request a handler loses (an exception, a task
//   dropped) never leaves its connection waiting.
// - Once the connection is gone (the client left, a timeout answered
//   instead, the server stopped) Respond() is still safe and the response is
//   dropped. A responder may outlive its server.
// Move-only. Not synchronized itself: one thread uses a given responder at
// a time (hand it over by moving it).
class HttpResponder {
 public:
  // Where responses go; the server's connections implement it, tests can
  // use FromFunction. Complete is called at most once per HttpResponder,
  // from whatever thread responds, with the ticket it was made with.
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void Complete(std::uint64_t ticket, HttpResponse response) = 0;
  };

  HttpResponder() = default;  // responds nowhere
  HttpResponder(std::shared_ptr<Sink> sink, std::uint64_t ticket)
      : sink_(std::move(sink)), ticket_(ticket) {}
  ~HttpResponder();
  HttpResponder(HttpResponder&& other) noexcept = default;
  HttpResponder& operator=(HttpResponder&& other) noexcept;
  HttpResponder(const HttpResponder&) = delete;
  HttpResponder& operator=(const HttpResponder&) = delete;

  // Sends `response` (see the contract above).
  void Respond(HttpResponse response);
  // True until Respond() is called (or the responder is moved from).
  explicit operator bool() const { return sink_ != nullptr; }

  // A responder that calls `fn` with the response (500 if it is destroyed
  // unused), on the responding thread. For tests and adapters.
  static HttpResponder FromFunction(std::function<void(HttpResponse)> fn);

 private:
  std::shared_ptr<Sink> sink_;
  std::uint64_t ticket_ = 0;
};

// A handler that answers at once: runs on the server's I/O thread, so it
// must not block (no store queries, no network calls, no waiting on locks
// held for long).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// A handler that may answer later: it reads `request` during the call (copy
// what a later answer needs; the reference is not valid after it returns)
// and answers through `respond`, before returning (as fast as an
// HttpHandler) or later from any thread, e.g. from a WorkerPool or the
// completion of an asynchronous call. It runs on the server's I/O thread:
// blocking work belongs elsewhere (server/worker_pool.h).
using AsyncHttpHandler = std::function<void(const HttpRequest& request, HttpResponder respond)>;

// True for a loopback peer address (HttpRequest::client_address):
// "127.0.0.1" and the rest of 127/8, "::1", and "::ffff:127.x.y.z".
bool IsLoopbackAddress(std::string_view address);

// Splits a request target into a decoded path and query. Fails (400) for
// targets that are not origin-form ("/..."), bad percent-encoding, NUL bytes,
// or "." / ".." path segments (before or after decoding).
struct ParsedTarget {
  std::string path;
  std::multimap<std::string, std::string> query;
};
Result<ParsedTarget> ParseTarget(std::string_view target);

// Percent-decodes `s` ('+' stays '+'). Fails on a bad escape or a NUL byte.
Result<std::string> PercentDecode(std::string_view s);

// Escapes `s` for use in a URL query value.
std::string PercentEncode(std::string_view s);

}  // namespace headcount
