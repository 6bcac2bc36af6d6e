// HttpServer on Boost.Asio: one io_context per I/O thread, and a listener
// that accepts connections on the first and hands them out to all of them in
// turn, within the connection limits. What a connection does is in
// http_connection.cc; how a response is written, in http_writer.cc.
#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net/url.h"
#include "server/http_connection.h"

namespace headcount {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using SystemError = boost::system::error_code;
using http_internal::ConnectionCounter;
using http_internal::Executor;
using http_internal::ServerContext;
using http_internal::Socket;

// Pause before accepting again after accept failed (e.g. out of file
// descriptors), so the accept loop does not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

// The peer's address as text; IPv4 clients of an IPv6 socket as plain IPv4.
std::string ClientAddress(const tcp::endpoint& peer) {
  const net::ip::address address = peer.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

}  // namespace

// Not in the anonymous namespace: HttpServer::Impl holds one.
namespace http_internal {

// Accepts connections on the first I/O context and hands them out to all of
// them in turn; a connection runs on the context its socket was accepted for.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(std::vector<net::io_context*> contexts, tcp::acceptor&& acceptor, ServerContext& context)
      : contexts_(std::move(contexts)),
        acceptor_(std::move(acceptor)),
        retry_timer_(acceptor_.get_executor()),
        context_(context) {}

  void Run() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->Accept(); });
  }

  // Only while no I/O thread runs (HttpServer::Stop).
  void Close() {
    SystemError ec;
    acceptor_.close(ec);
    retry_timer_.cancel();
  }

 private:
  void Accept() {
    net::io_context& target = *contexts_[next_context_];
    next_context_ = (next_context_ + 1) % contexts_.size();
    acceptor_.async_accept(target, [self = shared_from_this()](SystemError ec, Socket socket) {
      self->OnAccept(ec, std::move(socket));
    });
  }

  void OnAccept(SystemError ec, Socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      spdlog::warn("http: accept failed: {}", ec.message());
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([self = shared_from_this()](SystemError wait_ec) {
        if (!wait_ec) self->Accept();
      });
      return;
    }
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    // A response whose head and body go out in separate writes (a file after
    // its head) would otherwise wait for the client's delayed ACK under
    // Nagle's algorithm, up to 40 ms on Linux. Serving without it is slower,
    // not wrong: its failure is ignored.
    SystemError no_delay_ec;
    socket.set_option(tcp::no_delay(true), no_delay_ec);
    if (!ec) {
      std::string client = ClientAddress(peer);
      if (context_.counter.TryAcquire(client)) {
        http_internal::StartConnection(std::move(socket), context_, std::move(client));
      } else {
        // Debug only: under a flood a line per refusal would flood the log too.
        spdlog::debug("http: connection limit reached, closing connection from {}", client);
        socket.close(ec);
      }
    }
    Accept();
  }

  const std::vector<net::io_context*> contexts_;
  std::size_t next_context_ = 0;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  ServerContext& context_;
};

}  // namespace http_internal

// Stop() destroys the io_contexts (and with them every pending handler,
// session and socket) before the context the sessions use.
struct HttpServer::Impl {
  Impl(const HttpServerOptions& options, const AsyncHttpHandler& handler,
       const HttpObserver& observer)
      : context{options, handler, observer,
                ConnectionCounter(options.max_connections, options.max_connections_per_client)} {}

  ServerContext context;
  // One per I/O thread; the first also runs the listener.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<Executor>> work;
  std::shared_ptr<http_internal::Listener> listener;
  std::vector<std::thread> threads;
};

HttpServer::HttpServer(HttpServerOptions options, AsyncHttpHandler handler, HttpObserver observer)
    : options_(std::move(options)), handler_(std::move(handler)), observer_(std::move(observer)) {}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler, HttpObserver observer)
    : HttpServer(std::move(options), AnswerAtOnce(std::move(handler)), std::move(observer)) {}

AsyncHttpHandler HttpServer::AnswerAtOnce(HttpHandler handler) {
  if (!handler) return {};
  return [handler = std::move(handler)](const HttpRequest& request, HttpResponder respond) {
    respond.Respond(handler(request));
  };
}

HttpServer::~HttpServer() { Stop(); }

std::uint16_t HttpServer::port() const { return port_.load(); }

Status HttpServer::Start() {
  std::lock_guard lock(mu_);
  if (impl_) return Error::Internal("HttpServer already started");
  if (options_.threads < 1) return Error::InvalidArgument("HttpServer needs at least one thread");
  if (!handler_) return Error::InvalidArgument("HttpServer needs a handler");

  auto impl = std::make_unique<Impl>(options_, handler_, observer_);
  const std::string where = HostPort(options_.address, options_.port);
  SystemError ec;
  const net::ip::address address = net::ip::make_address(options_.address, ec);
  if (ec) return Error::InvalidArgument("invalid listen address '" + options_.address + "'");
  const tcp::endpoint endpoint(address, options_.port);

  std::vector<net::io_context*> contexts;
  for (int i = 0; i < options_.threads; ++i) {
    // 1: run by one thread, which lets Asio skip some locking.
    impl->contexts.push_back(std::make_unique<net::io_context>(1));
    contexts.push_back(impl->contexts.back().get());
  }
  tcp::acceptor acceptor(*contexts.front());
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return Error::Io("cannot listen on " + where + ": " + ec.message());
  }
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return Error::Io("cannot listen on " + where + ": " + ec.message());
  }
  if (acceptor.bind(endpoint, ec); ec) {
    return Error::Io("cannot bind " + where + ": " + ec.message());
  }
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    return Error::Io("cannot listen on " + where + ": " + ec.message());
  }
  const std::uint16_t bound_port = acceptor.local_endpoint(ec).port();
  if (ec) return Error::Io("cannot listen on " + where + ": " + ec.message());

  impl->listener =
      std::make_shared<http_internal::Listener>(contexts, std::move(acceptor), impl->context);
  impl->listener->Run();
  for (net::io_context* ioc : contexts) {
    impl->work.push_back(net::make_work_guard(*ioc));
    impl->threads.emplace_back([ioc] {
      // sendfile(2) to a connection the client closed raises SIGPIPE, which
      // would end the process; blocked here, the call fails with EPIPE
      // instead (sendmsg is told MSG_NOSIGNAL).
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      // Handlers catch their own exceptions; this keeps the thread serving if
      // one escapes anyway (e.g. std::bad_alloc). run() returns after stop().
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: I/O thread caught: {}", e.what());
        }
      }
    });
  }
  port_.store(bound_port);
  spdlog::info("http: listening on {}", HostPort(options_.address, bound_port));
  impl_ = std::move(impl);
  return Status();
}

void HttpServer::Stop() {
  std::lock_guard lock(mu_);
  if (!impl_) return;
  // From here on, answers that handlers give later are dropped, not posted
  // to the contexts about to go away.
  impl_->context.gate->Close();
  impl_->work.clear();
  for (const auto& ioc : impl_->contexts) ioc->stop();
  for (std::thread& t : impl_->threads) t.join();
  // No thread runs now: touching the acceptor from here is safe.
  impl_->listener->Close();
  impl_->listener.reset();
  // Destroying an io_context destroys its pending handlers and with them the
  // sessions, which close their sockets. The first goes first: a pending
  // accept there holds a socket made for another context.
  for (auto& ioc : impl_->contexts) ioc.reset();
  impl_.reset();
  port_.store(0);
}

}  // namespace headcount
