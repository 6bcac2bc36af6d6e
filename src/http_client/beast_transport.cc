// BeastTransport: a Client on its own io_context thread; Send waits on a future.
#include "http_client/beast_transport.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <optional>
#include <thread>
#include <utility>

namespace headcount::http_client {

struct BeastTransport::Impl {
  explicit Impl(ClientOptions options)
      : work(io.get_executor()), client(Client::Create(io.get_executor(), std::move(options))) {
    thread = std::thread([this] { io.run(); });
  }
  ~Impl() {
    work.reset();
    io.stop();
    thread.join();
    // The client and its idle connections go before the io_context (members
    // are destroyed in reverse order), with no thread running it.
  }

  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  Result<std::unique_ptr<Client>> client;
  std::thread thread;
};

BeastTransport::BeastTransport() : BeastTransport(ClientOptions::FromEnvironment()) {}

BeastTransport::BeastTransport(ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

BeastTransport::~BeastTransport() = default;

Result<HttpResponse> BeastTransport::Send(const HttpRequest& request) {
  if (!impl_->client.ok()) return impl_->client.error();
  std::promise<Result<HttpResponse>> answer;
  std::future<Result<HttpResponse>> future = answer.get_future();
  (*impl_->client)->Send(request, [&answer](Result<HttpResponse> result) {
    answer.set_value(std::move(result));
  });
  return future.get();
}

}  // namespace headcount::http_client
