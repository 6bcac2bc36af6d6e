// Streamed responses (HttpResponse::stream) over real sockets: the head
// goes out at once with no length and Connection: close, then every chunk a
// producer writes, from any thread, in order; the idle chunk when nothing
// is written; the connection closes when the producer ends the stream, and
// the stream closes when the client leaves, reads too slowly, or the server
// stops. HEAD gets the head alone. A stream with a length (Content-Length or
// chunked) ends as its framing says and keeps the connection for the next
// request; failed, short, or silent too long, it is broken off by closing.
#include "server/http_stream.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/http_server.h"
#include "server/http_server_testing.h"

namespace headcount {
namespace {

using namespace std::chrono_literals;
using http_testing::Client;
using http_testing::Get;
using http_testing::Ms;
using http_testing::Steady;

// True once `stream` is closed, waiting up to `timeout` for it.
bool ClosesWithin(const HttpStream& stream, Ms timeout) {
  const auto deadline = Steady::now() + timeout;
  while (!stream.closed()) {
    if (Steady::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class HttpStreamTest : public ::testing::Test {
 protected:
  HttpStreamTest() {
    options_.port = 0;
    options_.threads = 1;
    options_.read_timeout = 1s;
    options_.write_timeout = 1s;
  }
  ~HttpStreamTest() override {
    if (server_) server_->Stop();
  }

  // Every request gets a stream with stream_options_; the test keeps it.
  void Start() {
    server_ = std::make_unique<HttpServer>(options_, [this](const HttpRequest& /*req*/) {
      HttpResponse r;
      r.content_type = "text/event-stream";
      r.headers.emplace_back("X-Accel-Buffering", "no");
      auto stream = std::make_shared<HttpStream>(stream_options_);
      std::lock_guard lock(mu_);
      stream_ = stream;
      r.stream = std::move(stream);
      return r;
    });
    const Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.error().ToString();
  }

  // The stream of the last request (the server holds it while it sends it).
  std::shared_ptr<HttpStream> Stream() {
    std::lock_guard lock(mu_);
    return stream_.lock();
  }

  HttpServerOptions options_;
  HttpStreamOptions stream_options_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::weak_ptr<HttpStream> stream_;  // guarded by mu_
};

TEST_F(HttpStreamTest, HeadGoesOutAtOnceThenEachChunkAsItIsWrittenFromAnotherThread) {
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Get("/events")));
  const auto head = c.Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers.count("content-length"), 0U) << "the body ends with the connection";
  EXPECT_EQ(head->headers.count("transfer-encoding"), 0U);
  EXPECT_EQ(head->headers.at("connection"), "close");
  EXPECT_EQ(head->headers.at("x-accel-buffering"), "no");
  EXPECT_TRUE(c.Quiet(100ms)) << "nothing before the producer writes";

  const std::shared_ptr<HttpStream> stream = Stream();
  ASSERT_TRUE(stream);
  std::thread producer([&] {
    EXPECT_TRUE(stream->Write("data: one\n\n"));
    EXPECT_TRUE(stream->Write("data: two\n\n"));
  });
  producer.join();
  EXPECT_EQ(c.ReadThrough("two\n\n"), "data: one\n\ndata: two\n\n");
  EXPECT_TRUE(stream->Write("data: three\n\n"));
  EXPECT_EQ(c.ReadThrough("\n\n"), "data: three\n\n");

  stream->End();
  EXPECT_TRUE(c.ClosesWithoutData()) << "ending the stream closes the connection";
  EXPECT_FALSE(stream->Write("late")) << "an ended stream takes nothing";
}

TEST_F(HttpStreamTest, WhatWasWrittenBeforeTheHeadWentOutFollowsIt) {
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Get("/events")));
  ASSERT_TRUE(c.Read(/*head=*/true));
  // The handler's stream: written right after it answered, maybe before the
  // connection took it up; nothing may be lost or reordered.
  const auto stream = Stream();
  ASSERT_TRUE(stream);
  for (int i = 0; i < 100; ++i) stream->Write(std::to_string(i) + ",");
  std::string want;
  for (int i = 0; i < 100; ++i) want += std::to_string(i) + ",";
  EXPECT_EQ(c.ReadThrough("99,"), want);
}

TEST_F(HttpStreamTest, IdleChunkGoesOutWhenNothingIsWritten) {
  stream_options_.idle_chunk = ": keep-alive\n\n";
  stream_options_.idle_interval = 200ms;
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Get("/events")));
  ASSERT_TRUE(c.Read(/*head=*/true));
  EXPECT_EQ(c.ReadThrough("\n\n", 2s), ": keep-alive\n\n");
  EXPECT_EQ(c.ReadThrough("\n\n", 2s), ": keep-alive\n\n") << "and again";
}

TEST_F(HttpStreamTest, ClientLeavingClosesTheStream) {
  Start();
  std::shared_ptr<HttpStream> stream;
  {
    Client c(server_->port());
    ASSERT_TRUE(c.Send(Get("/events")));
    ASSERT_TRUE(c.Read(/*head=*/true));
    stream = Stream();
    ASSERT_TRUE(stream);
    EXPECT_FALSE(stream->closed());
  }  // the client closes its socket
  EXPECT_TRUE(ClosesWithin(*stream, 5000ms)) << "the producer learns the client is gone";
  EXPECT_FALSE(stream->Write("data: x\n\n"));
}

TEST_F(HttpStreamTest, ClientReadingTooSlowlyIsLetGo) {
  stream_options_.max_pending_bytes = std::size_t{64} * 1024;
  // Idle chunks are due while a write waits for the full socket: they wait too.
  stream_options_.idle_chunk = ": keep-alive\n\n";
  stream_options_.idle_interval = std::chrono::milliseconds(50);
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Get("/events")));
  ASSERT_TRUE(c.Read(/*head=*/true));
  const auto stream = Stream();
  ASSERT_TRUE(stream);
  // The client reads nothing: the socket buffers fill, then the pending
  // bytes pass the bound (or a write times out), and the stream closes.
  const std::string chunk(std::size_t{16} * 1024, 'x');
  bool refused = false;
  const auto deadline = Steady::now() + 10s;
  while (!refused && Steady::now() < deadline) {
    refused = !stream->Write(chunk);
    if (!refused) std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(refused) << "a client that does not read is dropped, not buffered without end";
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(HttpStreamTest, HeadRequestGetsTheHeadAloneAndTheStreamIsDropped) {
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.Send("HEAD /events HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto head = c.Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers.at("connection"), "close");
  EXPECT_TRUE(c.ClosesWithoutData());
  EXPECT_EQ(Stream(), nullptr) << "nobody holds a stream that is never sent";
}

TEST_F(HttpStreamTest, StoppingTheServerClosesOpenStreams) {
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Get("/events")));
  ASSERT_TRUE(c.Read(/*head=*/true));
  const auto stream = Stream();
  ASSERT_TRUE(stream);
  server_->Stop();
  EXPECT_TRUE(stream->closed());
  EXPECT_FALSE(stream->Write("data: x\n\n"));
  EXPECT_TRUE(c.WaitClosed());
}

// The stream of the request after `previous`, once the handler made it.
std::shared_ptr<HttpStream> NextStream(const std::function<std::shared_ptr<HttpStream>()>& latest,
                                       const std::shared_ptr<HttpStream>& previous) {
  const auto deadline = Steady::now() + 5s;
  for (;;) {
    std::shared_ptr<HttpStream> s = latest();
    if ((s && s != previous) || Steady::now() > deadline) return s;
    std::this_thread::sleep_for(5ms);
  }
}

TEST_F(HttpStreamTest, StreamWithALengthKeepsTheConnectionForTheNextRequest) {
  stream_options_.content_length = 10;
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Get("/media")));
  const auto head = c.Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->headers.at("content-length"), "10");
  EXPECT_EQ(head->headers.count("connection"), 0U) << "kept alive";
  const auto stream = Stream();
  ASSERT_TRUE(stream);
  EXPECT_TRUE(stream->Write("01234"));
  EXPECT_EQ(c.ReadThrough("4"), "01234") << "bytes go out as they are written";
  EXPECT_TRUE(stream->Write("56789"));
  stream->End();
  EXPECT_EQ(c.ReadThrough("9"), "56789");
  // The same connection answers the next request.
  ASSERT_TRUE(c.Send(Get("/media")));
  const auto next_head = c.Read(/*head=*/true);
  ASSERT_TRUE(next_head);
  EXPECT_EQ(next_head->status, 200);
  const auto next = NextStream([this] { return Stream(); }, stream);
  ASSERT_TRUE(next);
  ASSERT_NE(next, stream);
  EXPECT_TRUE(next->Write("abcdefghij"));
  next->End();
  EXPECT_EQ(c.ReadThrough("j"), "abcdefghij");
  EXPECT_TRUE(c.Quiet(100ms));
}

TEST_F(HttpStreamTest, ChunkedStreamEndsWithTheLastChunkAndKeepsTheConnection) {
  stream_options_.chunked = true;
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Get("/media")));
  const auto head = c.Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->headers.at("transfer-encoding"), "chunked");
  EXPECT_EQ(head->headers.count("content-length"), 0U);
  EXPECT_EQ(head->headers.count("connection"), 0U) << "kept alive";
  const auto stream = Stream();
  ASSERT_TRUE(stream);
  EXPECT_TRUE(stream->Write("hello"));
  EXPECT_EQ(c.ReadThrough("hello"), "5\r\nhello");
  EXPECT_TRUE(stream->Write(std::make_shared<const std::string>(std::string(26, 'z'))));
  stream->End();
  EXPECT_EQ(c.ReadThrough("0\r\n\r\n"), "\r\n1a\r\n" + std::string(26, 'z') + "\r\n0\r\n\r\n");
  ASSERT_TRUE(c.Send(Get("/media")));
  EXPECT_TRUE(c.Read(/*head=*/true)) << "the connection goes on";
}

TEST_F(HttpStreamTest, FailedStreamWithALengthIsBrokenOffByClosingTheConnection) {
  for (const bool chunked : {false, true}) {
    stream_options_ = {};
    if (chunked) {
      stream_options_.chunked = true;
    } else {
      stream_options_.content_length = 1000;
    }
    if (server_) server_->Stop();
    Start();
    Client c(server_->port());
    ASSERT_TRUE(c.Send(Get("/media")));
    ASSERT_TRUE(c.Read(/*head=*/true));
    const auto stream = Stream();
    ASSERT_TRUE(stream);
    EXPECT_TRUE(stream->Write("partial"));
    EXPECT_TRUE(c.ReadThrough("partial")) << chunked;
    stream->Fail();
    // No last chunk, no more bytes: the client sees a truncated transfer.
    EXPECT_TRUE(c.ClosesWithoutData()) << chunked;
  }
}

TEST_F(HttpStreamTest, StreamEndedShortOfItsLengthIsBrokenOff) {
  stream_options_.content_length = 100;
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Get("/media")));
  ASSERT_TRUE(c.Read(/*head=*/true));
  const auto stream = Stream();
  ASSERT_TRUE(stream);
  EXPECT_TRUE(stream->Write("ten bytes!"));
  stream->End();
  EXPECT_EQ(c.ReadThrough("!"), "ten bytes!");
  EXPECT_TRUE(c.ClosesWithoutData()) << "90 bytes short: closed, not kept alive";
}

TEST_F(HttpStreamTest, ProducerSilentPastTheResponseTimeoutIsBrokenOff) {
  options_.response_timeout = 1s;
  stream_options_.content_length = 100;
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Get("/media")));
  ASSERT_TRUE(c.Read(/*head=*/true));
  const auto stream = Stream();
  ASSERT_TRUE(stream);
  EXPECT_TRUE(stream->Write("some"));
  EXPECT_TRUE(c.ReadThrough("some"));
  const auto started = Steady::now();
  EXPECT_TRUE(c.ClosesWithoutData(5000ms));
  EXPECT_GE(Steady::now() - started, 900ms) << "not before the timeout";
  EXPECT_TRUE(ClosesWithin(*stream, 1000ms)) << "the producer learns it is gone";
}

}  // namespace
}  // namespace headcount
