// What a Client and its requests in flight share: settings, the strand, the
// connection pool and the TLS context. Internal to http_client. Not
// thread-safe: touched only on `strand`.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <memory>
#include <optional>

#include "core/result.h"
#include "http_client/client.h"
#include "http_client/connection_pool.h"

namespace headcount::http_client {

struct Client::State {
  State(const boost::asio::any_io_executor& executor, ClientOptions client_options);

  // The TLS context, built on first use; its error every time after a
  // failed build.
  Result<boost::asio::ssl::context*> Tls();

  const boost::asio::strand<boost::asio::any_io_executor> strand;
  const ClientOptions options;
  ConnectionPool pool;

 private:
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::optional<Error> tls_error_;
};

// Runs one request to completion on state->strand (exchange.cc).
void StartExchange(const std::shared_ptr<Client::State>& state, HttpRequest request,
                   Client::Handler handler);
// The same for Client::Stream.
void StartStreamingExchange(const std::shared_ptr<Client::State>& state, HttpRequest request,
                            Client::StreamHandlers handlers);

}  // namespace headcount::http_client
