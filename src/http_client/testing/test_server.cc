// TestServer: one io_context thread, a callback-driven session per connection.
#include "http_client/testing/test_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>

namespace headcount::http_client::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

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
    Accept();
    thread = std::thread([this] { io.run(); });
  }

  void Accept();

  // What `handler` answers to `received`, after recording it.
  ScriptedResponse Record(const ReceivedRequest& received) {
    {
      std::lock_guard lock(mu);
      this->received.push_back(received);
    }
    return handler(received);
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

namespace {

// One connection: [TLS handshake,] then read a request, answer as scripted,
// and read the next until the script or the client ends it. Callbacks on the
// server's one thread keep it alive; it holds a raw Impl*, which the
// io_context (an Impl member, stopped and destroyed first) outlives.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(TestServer::Impl* server, tcp::socket socket, int number)
      : server_(server), stream_(MakeStream(std::move(socket), server)), number_(number) {}

  void Start() {
    if constexpr (kTls) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->Read();  // else the client refused our certificate
                              });
    } else {
      Read();
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  static Stream MakeStream(tcp::socket socket, TestServer::Impl* server) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *server->tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->OnRequest();
                     });
  }

  void OnRequest() {
    ReceivedRequest received;
    received.method = std::string(request_.method_string());
    received.target = std::string(request_.target());
    for (const auto& f : request_) {
      received.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    }
    received.body = request_.body();
    received.connection = number_;
    scripted_ = server_->Record(received);
    if (scripted_.delay.count() == 0) return Answer();
    timer_.expires_after(scripted_.delay);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code) { self->Answer(); });
  }

  void Answer() {
    if (scripted_.hang_up) return;  // the last reference goes: the stream closes the socket
    response_ = http::response<http::string_body>(static_cast<http::status>(scripted_.status), 11);
    for (const HttpHeader& h : scripted_.headers) response_.insert(h.name, h.value);
    response_.body() = scripted_.body;
    response_.keep_alive(!scripted_.close);
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || self->scripted_.close || self->scripted_.drop_after) return;
                        self->Read();
                      });
  }

  TestServer::Impl* const server_;
  Stream stream_;
  const int number_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  ScriptedResponse scripted_;
  asio::steady_timer timer_{stream_.get_executor()};
};

}  // namespace

void TestServer::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    const int number = ++accepted;
    if (tls) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(this, std::move(socket),
                                                                      number)
          ->Start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(this, std::move(socket), number)->Start();
    }
    Accept();
  });
}

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
