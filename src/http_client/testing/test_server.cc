// TestServer: one io_context thread, a coroutine per connection.
#include "http_client/testing/test_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

namespace headcount::http_client::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Coroutines hold a raw Impl*: the io_context (a member) destroys them
// before the rest of Impl goes.
struct TestServer::Impl {
  Impl(Handler h, std::optional<asio::ssl::context> tls_context)
      : handler(std::move(h)), tls(std::move(tls_context)) {
    acceptor.open(tcp::v4());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor.listen();
    port = acceptor.local_endpoint().port();
  }

  void Start() {
    asio::co_spawn(io, Accept(this), asio::detached);
    thread = std::thread([this] { io.run(); });
  }

  static asio::awaitable<void> Accept(Impl* self) {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await self->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      const int number = ++self->accepted;
      if (self->tls) {
        asio::co_spawn(self->io, ServeTls(self, std::move(socket), number), asio::detached);
      } else {
        asio::co_spawn(self->io, Serve(self, beast::tcp_stream(std::move(socket)), number),
                       asio::detached);
      }
    }
  }

  static asio::awaitable<void> ServeTls(Impl* self, tcp::socket socket, int number) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *self->tls);
    boost::system::error_code ec;
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // the client refused our certificate
    co_await Serve(self, std::move(stream), number);
  }

  template <typename Stream>
  static asio::awaitable<void> Serve(Impl* self, Stream stream, int number) {
    beast::flat_buffer buffer;
    for (;;) {
      boost::system::error_code ec;
      http::request<http::string_body> request;
      co_await http::async_read(stream, buffer, request,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ReceivedRequest received;
      received.method = std::string(request.method_string());
      received.target = std::string(request.target());
      for (const auto& f : request) {
        received.headers.push_back({std::string(f.name_string()), std::string(f.value())});
      }
      received.body = request.body();
      received.connection = number;
      {
        std::lock_guard lock(self->mu);
        self->received.push_back(received);
      }
      const ScriptedResponse scripted = self->handler(received);
      if (scripted.delay.count() > 0) {
        asio::steady_timer timer(self->io, scripted.delay);
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (scripted.hang_up) co_return;  // the stream's destructor closes the socket
      http::response<http::string_body> response(static_cast<http::status>(scripted.status), 11);
      for (const HttpHeader& h : scripted.headers) response.insert(h.name, h.value);
      response.body() = scripted.body;
      response.keep_alive(!scripted.close);
      response.prepare_payload();
      co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || scripted.close || scripted.drop_after) co_return;
    }
  }

  const Handler handler;
  std::optional<asio::ssl::context> tls;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  int port = 0;
  std::atomic<int> accepted{0};
  std::thread thread;
  mutable std::mutex mu;
  std::vector<ReceivedRequest> received;  // guarded by mu
};

TestServer::TestServer(Handler handler)
    : impl_(std::make_unique<Impl>(std::move(handler), std::nullopt)) {
  impl_->Start();
}

TestServer::TestServer(Handler handler, const std::string& cert_pem, const std::string& key_pem) {
  asio::ssl::context context(asio::ssl::context::tls_server);
  context.use_certificate_chain(asio::buffer(cert_pem));
  context.use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
  impl_ = std::make_unique<Impl>(std::move(handler), std::move(context));
  impl_->Start();
}

TestServer::~TestServer() {
  impl_->io.stop();
  impl_->thread.join();
}

int TestServer::port() const { return impl_->port; }
int TestServer::connections() const { return impl_->accepted.load(); }
std::vector<ReceivedRequest> TestServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received;
}

}  // namespace headcount::http_client::testing
