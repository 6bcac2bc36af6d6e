// Client: options, the shared state, and Send posting onto the strand.
#include "http_client/client.h"

#include <boost/asio/post.hpp>
#include <cstdlib>
#include <utility>

#include "http_client/client_state.h"
#include "http_client/tls.h"

namespace headcount::http_client {

ClientOptions ClientOptions::FromEnvironment() {
  ClientOptions options;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read at start-up
  if (const char* ca = std::getenv("SSL_CERT_FILE"); ca != nullptr) options.ca_file = ca;
  options.proxies = ProxySettings::FromProcessEnvironment();
  return options;
}

Client::State::State(const boost::asio::any_io_executor& executor, ClientOptions client_options)
    : strand(boost::asio::make_strand(executor)),
      options(std::move(client_options)),
      pool(options.max_connections_per_endpoint, options.max_idle_per_endpoint,
           [this](std::function<void()> f) { boost::asio::post(strand, std::move(f)); }) {}

Result<boost::asio::ssl::context*> Client::State::Tls() {
  if (tls_) return tls_.get();
  if (tls_error_) return *tls_error_;
  Result<std::shared_ptr<boost::asio::ssl::context>> made = MakeTlsClientContext(options.ca_file);
  if (!made.ok()) {
    tls_error_ = made.error();
    return made.error();
  }
  tls_ = std::move(*made);
  return tls_.get();
}

Result<std::unique_ptr<Client>> Client::Create(const boost::asio::any_io_executor& executor,
                                               ClientOptions options) {
  if (options.max_connections_per_endpoint == 0 || options.max_idle_per_endpoint == 0) {
    return Error::InvalidArgument("http client: connection caps must be positive");
  }
  return std::unique_ptr<Client>(new Client(std::make_shared<State>(executor, std::move(options))));
}

Client::Client(std::shared_ptr<State> state) : state_(std::move(state)) {}

Client::~Client() = default;

void Client::Send(HttpRequest request, Handler handler) {
  boost::asio::post(state_->strand, [state = state_, request = std::move(request),
                                     handler = std::move(handler)]() mutable {
    StartExchange(state, std::move(request), std::move(handler));
  });
}

void Client::Stream(HttpRequest request, StreamHandlers handlers) {
  boost::asio::post(state_->strand, [state = state_, request = std::move(request),
                                     handlers = std::move(handlers)]() mutable {
    StartStreamingExchange(state, std::move(request), std::move(handlers));
  });
}

}  // namespace headcount::http_client
