// One request's session object: wait for a pooled connection or a slot,
// resolve → connect → [proxy CONNECT] → [TLS handshake] → write → read (the
// whole response, or for Client::Stream its head, then its body piece by
// piece), with one timer that bounds each phase. Runs only on the client's strand.
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "http_client/client_state.h"
#include "http_client/tls.h"
#include "net/url.h"

namespace headcount::http_client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Whether `ec` says the peer closed or reset the connection: what a request
// meets on a kept-alive connection the server dropped while it was idle.
bool IsClosedConnection(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::ssl::error::stream_truncated;
}

// A header name is an RFC 9110 token; a value has no CR, LF or NUL.
bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<Client::State> state, HttpRequest request, Client::Handler handler,
           std::optional<Client::StreamHandlers> streaming = std::nullopt)
      : state_(std::move(state)),
        request_(std::move(request)),
        handler_(std::move(handler)),
        streaming_(std::move(streaming)),
        resolver_(state_->strand),
        timer_(state_->strand),
        deadline_(Clock::now() + request_.timeout) {}

  void Start() {
    Result<Url> url = ParseUrl(request_.url);
    if (!url.ok()) {
      return Finish(Error::InvalidArgument("http: request URL: " + url.error().message()));
    }
    url_ = std::move(*url);
    log_url_ = url_.Origin() + url_.path;
    if (!IsToken(request_.method)) return Finish(Error::InvalidArgument("http: bad method"));
    for (const HttpHeader& h : request_.headers) {
      if (!IsToken(h.name) ||
          h.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        return Finish(
            Error::InvalidArgument("http: header " + h.name + " has a forbidden character"));
      }
    }
    Result<std::optional<ProxyEndpoint>> proxy = ProxyFor(state_->options.proxies, url_);
    if (!proxy.ok()) return Finish(Error::InvalidArgument("http: " + proxy.error().message()));
    proxy_ = std::move(*proxy);
    tls_ = url_.scheme == "https";
    const std::string target_endpoint = url_.scheme + "://" + HostPort(url_.host, url_.port);
    if (!proxy_) {
      endpoint_ = target_endpoint;
    } else if (tls_) {
      // A tunnel to the target: its connections are the target's, via this proxy.
      endpoint_ = target_endpoint + " via " + HostPort(proxy_->host, proxy_->port);
    } else {
      // Plain http through a proxy: one connection to the proxy carries requests for any host.
      endpoint_ = "proxy://" + HostPort(proxy_->host, proxy_->port);
    }
    BuildRequest();
    Acquire();
  }

 private:
  void BuildRequest() {
    message_.version(11);
    message_.method_string(request_.method);
    message_.target(proxy_ && !tls_ ? url_.Origin() + url_.Target() : url_.Target());
    for (const HttpHeader& h : request_.headers) message_.insert(h.name, h.value);
    if (FindHeader(request_.headers, "Host") == nullptr) {
      message_.set(http::field::host, url_.HostHeader());
    }
    if (proxy_ && !tls_ && !proxy_->authorization.empty()) {
      message_.set(http::field::proxy_authorization, proxy_->authorization);
    }
    const std::string& m = request_.method;
    if (!request_.body.empty() || m == "POST" || m == "PUT" || m == "PATCH") {
      message_.body() = request_.body;
      message_.prepare_payload();
    }
  }

  // --- a connection or a slot from the pool ---
  void Acquire() {
    step_ = "waiting for a free connection";
    std::optional<Grant> grant = state_->pool.TryAcquire(endpoint_);
    if (grant) return OnGrant(std::move(*grant));
    waiter_id_ = state_->pool.Wait(
        endpoint_, [self = shared_from_this()](Grant g) { self->OnGrant(std::move(g)); });
    ArmTimer(deadline_);
  }

  void OnGrant(Grant grant) {
    if (finished_) {
      state_->pool.Release(endpoint_, std::move(grant));  // timed out meanwhile: pass it on
      return;
    }
    waiter_id_ = 0;
    holding_slot_ = true;
    if (grant) {
      connection_ = std::move(grant);
      reused_ = true;
      return Write();
    }
    Connect();
  }

  // --- a new connection ---
  void Connect() {
    reused_ = false;
    connection_ = std::make_unique<Connection>(state_->strand);
    ArmTimer(std::min(deadline_, Clock::now() + request_.connect_timeout));
    connect_phase_ = true;
    step_ = "resolve";
    const std::string& host = proxy_ ? proxy_->host : url_.host;
    const std::uint16_t port = proxy_ ? proxy_->port : url_.port;
    resolver_.async_resolve(
        host, std::to_string(port),
        [self = shared_from_this()](const boost::system::error_code& ec,
                                    const tcp::resolver::results_type& results) {
          self->OnResolve(ec, results);
        });
  }

  void OnResolve(const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
    if (finished_) return;
    if (ec) return Fail(ec);
    step_ = "connect";
    connection_->tcp.async_connect(
        results, [self = shared_from_this()](const boost::system::error_code& e,
                                             const tcp::endpoint&) { self->OnConnect(e); });
  }

  void OnConnect(const boost::system::error_code& ec) {
    if (finished_) return;
    if (ec) return Fail(ec);
    boost::system::error_code ignored;
    connection_->tcp.socket().set_option(tcp::no_delay(true), ignored);
    if (proxy_ && tls_) return ProxyConnect();
    if (tls_) return Handshake();
    connect_phase_ = false;
    Write();
  }

  void ProxyConnect() {
    step_ = "proxy CONNECT";
    const std::string authority = HostPort(url_.host, url_.port);
    connect_request_.emplace(http::verb::connect, authority, 11);
    connect_request_->set(http::field::host, authority);
    if (!proxy_->authorization.empty()) {
      connect_request_->set(http::field::proxy_authorization, proxy_->authorization);
    }
    http::async_write(
        connection_->tcp, *connect_request_,
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
          self->OnProxyConnectWritten(ec);
        });
  }

  void OnProxyConnectWritten(const boost::system::error_code& ec) {
    if (finished_) return;
    if (ec) return Fail(ec);
    connect_response_.emplace();
    connect_response_->header_limit(kMaxResponseHeaderBytes);
    connect_response_->skip(true);  // a 2xx to CONNECT has no body; others are not read on
    http::async_read(connection_->tcp, connection_->buffer, *connect_response_,
                     [self = shared_from_this()](const boost::system::error_code& e, std::size_t) {
                       self->OnProxyConnectRead(e);
                     });
  }

  void OnProxyConnectRead(const boost::system::error_code& ec) {
    if (finished_) return;
    if (ec) return Fail(ec);
    const unsigned status = connect_response_->get().result_int();
    if (status < 200 || status > 299) {
      return FailWith("the proxy answered HTTP " + std::to_string(status));
    }
    if (connection_->buffer.size() != 0) return FailWith("the proxy sent bytes after its answer");
    Handshake();
  }

  void Handshake() {
    step_ = "TLS handshake";
    Result<asio::ssl::context*> context = state_->Tls();
    if (!context.ok()) return Finish(context.error());
    connection_->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(
        std::move(connection_->tcp), **context);
    ExpectPeerName(connection_->tls->native_handle(), url_.host);
    connection_->tls->async_handshake(
        asio::ssl::stream_base::client,
        [self = shared_from_this()](const boost::system::error_code& ec) {
          self->OnHandshake(ec);
        });
  }

  void OnHandshake(const boost::system::error_code& ec) {
    if (finished_) return;
    if (ec) return FailWith(DescribeHandshakeError(ec, connection_->tls->native_handle()));
    connect_phase_ = false;
    Write();
  }

  // --- the exchange ---
  void Write() {
    step_ = "write";
    ArmTimer(deadline_);
    auto done = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      self->OnWrite(ec);
    };
    OnStream([&](auto& stream) { http::async_write(stream, message_, std::move(done)); });
  }

  // Runs `op` on the connection's stream, TLS or plain TCP (op is called
  // once, with the one the connection has).
  template <typename Op>
  void OnStream(Op&& op) {
    if (connection_->tls) return op(*connection_->tls);
    op(connection_->tcp);
  }

  void OnWrite(const boost::system::error_code& ec) {
    if (finished_) return;
    if (ec) {
      if (ResendWhenStale(ec)) return;
      return Fail(ec);
    }
    Read();
  }

  void Read() {
    step_ = "read";
    parser_.emplace();
    parser_->header_limit(kMaxResponseHeaderBytes);
    parser_->body_limit(request_.max_response_bytes);
    if (request_.method == "HEAD") parser_->skip(true);
    if (streaming_) return ReadHead();
    auto done = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      self->OnRead(ec);
    };
    OnStream([&](auto& stream) {
      http::async_read(stream, connection_->buffer, *parser_, std::move(done));
    });
  }

  // The answer when `ec` says the response passed a bound: its body
  // (as it arrived, or as its Content-Length announced) or its headers.
  std::optional<Error> LimitError(const boost::system::error_code& ec) const {
    if (ec == http::error::body_limit) {
      return Error::Rejected("http: response body from " + log_url_ + " is larger than " +
                             std::to_string(request_.max_response_bytes) + " bytes");
    }
    if (ec == http::error::header_limit) {
      return Error::Rejected("http: response headers from " + log_url_ + " are larger than " +
                             std::to_string(kMaxResponseHeaderBytes) + " bytes");
    }
    return std::nullopt;
  }

  // What a read of the response's head came to: its status, or nullopt when
  // the exchange went on otherwise (finished, failed, sent again, or an
  // interim answer such as 100 Continue read past to the real one).
  std::optional<unsigned> HeadStatus(const boost::system::error_code& ec) {
    if (finished_) return std::nullopt;
    if (std::optional<Error> too_large = LimitError(ec)) {
      Finish(std::move(*too_large));
      return std::nullopt;
    }
    if (ec) {
      if (parser_->got_some() || !ResendWhenStale(ec)) Fail(ec);
      return std::nullopt;
    }
    const unsigned status = parser_->get().result_int();
    if (status >= 100 && status < 200 && status != 101) {
      Read();
      return std::nullopt;
    }
    return status;
  }

  // The response's header fields, as they came.
  static HttpHeaders HeadersOf(const http::response_header<>& head) {
    HttpHeaders headers;
    for (const auto& field : head) {
      headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    return headers;
  }

  void OnRead(const boost::system::error_code& ec) {
    const std::optional<unsigned> status = HeadStatus(ec);
    if (!status) return;
    const bool keep_alive = parser_->keep_alive();
    http::response<http::string_body> message = parser_->release();
    HttpResponse response;
    response.status = static_cast<int>(*status);
    response.headers = HeadersOf(message.base());
    response.body = std::move(message.body());
    if (keep_alive) {
      holding_slot_ = false;
      state_->pool.Release(endpoint_, std::move(connection_));
    }
    Finish(std::move(response));
  }

  // --- a streamed response: the head, then the body piece by piece ---
  void ReadHead() {
    auto done = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      self->OnHead(ec);
    };
    OnStream([&](auto& stream) {
      http::async_read_header(stream, connection_->buffer, *parser_, std::move(done));
    });
  }

  void OnHead(const boost::system::error_code& ec) {
    const std::optional<unsigned> status = HeadStatus(ec);
    if (!status) return;
    HttpResponse head;
    head.status = static_cast<int>(*status);
    head.headers = HeadersOf(parser_->get().base());
    step_ = "read body";
    head_delivered_ = true;
    streaming_->on_head(std::move(head));
    if (finished_) return;
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return EndBody();
    auto done = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      self->OnBody(ec);
    };
    OnStream([&](auto& stream) {
      http::async_read_some(stream, connection_->buffer, *parser_, std::move(done));
    });
  }

  void OnBody(const boost::system::error_code& ec) {
    if (finished_) return;
    // The parser appends to the body; what it holds is handed on and the
    // body starts empty again, so no more than one read is ever held here.
    std::string& body = parser_->get().body();
    if (!body.empty()) {
      std::string piece = std::move(body);
      body.clear();
      streaming_->on_body(std::move(piece));
      if (finished_) return;
    }
    if (std::optional<Error> too_large = LimitError(ec)) return Finish(std::move(*too_large));
    if (ec) return Fail(ec);
    ReadBody();
  }

  void EndBody() {
    if (parser_->keep_alive()) {
      holding_slot_ = false;
      state_->pool.Release(endpoint_, std::move(connection_));
    }
    Finish(HttpResponse{});
  }

  // A kept-alive connection found closed before any of the response came:
  // open a new one and send again, once, when the request allows it.
  bool ResendWhenStale(const boost::system::error_code& ec) {
    const bool may = IsIdempotentMethod(request_.method) || request_.resend_when_stale;
    if (!reused_ || resent_ || !may || !IsClosedConnection(ec)) return false;
    resent_ = true;
    Connect();  // keeps this exchange's slot; the old connection closes
    return true;
  }

  // --- timing and completion ---
  void ArmTimer(Clock::time_point when) {
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_at(when);
    timer_.async_wait([self = shared_from_this(), generation](const boost::system::error_code& ec) {
      if (ec || generation != self->timer_generation_ || self->finished_) return;
      self->OnTimeout();
    });
  }

  void OnTimeout() {
    const auto limit =
        connect_phase_ ? std::min(request_.connect_timeout, request_.timeout) : request_.timeout;
    FailWith(std::string(kTimedOutText) + " " + std::to_string(limit.count()) + " ms (" +
             (connect_phase_ ? "connect timeout" : "request timeout") + ")");
  }

  void Fail(const boost::system::error_code& ec) { FailWith(ec.message()); }

  void FailWith(const std::string& what) {
    Finish(Error::Unavailable("http: " + request_.method + " " + log_url_ + ": " + step_ + ": " +
                              what));
  }

  void Finish(Result<HttpResponse> result) {
    if (finished_) return;
    finished_ = true;
    ++timer_generation_;
    timer_.cancel();
    resolver_.cancel();
    if (waiter_id_ != 0) state_->pool.CancelWait(endpoint_, waiter_id_);
    if (connection_) {
      // Pending operations, if any, complete with an error and find
      // finished_ set; the connection object lives until they have.
      boost::system::error_code ignored;
      connection_->lowest_layer().socket().close(ignored);
    }
    if (holding_slot_) state_->pool.Release(endpoint_, nullptr);
    holding_slot_ = false;
    if (streaming_) {
      // Before the head: the head's handler gets the error; after it, the
      // end's gets the outcome of the body.
      Client::StreamHandlers handlers = std::move(*streaming_);
      if (!head_delivered_) return handlers.on_head(std::move(result));
      return handlers.on_end(result.status());
    }
    Client::Handler handler = std::move(handler_);
    handler(std::move(result));
  }

  const std::shared_ptr<Client::State> state_;
  const HttpRequest request_;
  Client::Handler handler_;
  std::optional<Client::StreamHandlers> streaming_;  // set for Client::Stream
  bool head_delivered_ = false;                      // streaming_->on_head had the head
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  const Clock::time_point deadline_;

  Url url_;
  std::string log_url_;  // no query: it may hold a secret
  std::optional<ProxyEndpoint> proxy_;
  bool tls_ = false;
  std::string endpoint_;  // the pool's key
  http::request<http::string_body> message_;
  std::optional<http::request<http::empty_body>> connect_request_;
  std::optional<http::response_parser<http::empty_body>> connect_response_;
  std::optional<http::response_parser<http::string_body>> parser_;

  std::unique_ptr<Connection> connection_;
  std::uint64_t waiter_id_ = 0;
  std::uint64_t timer_generation_ = 0;
  const char* step_ = "start";
  bool holding_slot_ = false;
  bool reused_ = false;
  bool resent_ = false;
  bool connect_phase_ = false;
  bool finished_ = false;
};

}  // namespace

void StartExchange(const std::shared_ptr<Client::State>& state, HttpRequest request,
                   Client::Handler handler) {
  std::make_shared<Exchange>(state, std::move(request), std::move(handler))->Start();
}

void StartStreamingExchange(const std::shared_ptr<Client::State>& state, HttpRequest request,
                            Client::StreamHandlers handlers) {
  std::make_shared<Exchange>(state, std::move(request), nullptr, std::move(handlers))->Start();
}

}  // namespace headcount::http_client
