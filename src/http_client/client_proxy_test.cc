// The HTTP client through a real forward proxy (Debian's tinyproxy, started
// per test on a free loopback port): https through a CONNECT tunnel, plain
// http in absolute form, NO_PROXY bypassing it, proxy credentials, and a
// proxy that refuses the tunnel.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "http_client/beast_transport.h"
#include "http_client/testing/fixtures.h"
#include "http_client/testing/test_certs.h"
#include "http_client/testing/test_server.h"
#include "http_client/testing/tinyproxy.h"

namespace headcount::http_client {
namespace {

using testing::MakeSelfSignedCertificate;
using testing::ReceivedRequest;
using testing::ScriptedResponse;
using testing::TestCertificate;
using testing::TestServer;
using testing::Tinyproxy;
using testing::WriteTempFile;

using testing::Get;
using testing::MapLookup;
std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class HttpClientProxy : public ::testing::Test {
 protected:
  HttpClientProxy()
      : cert_(MakeSelfSignedCertificate("localhost")),
        tls_server_([](const ReceivedRequest&) { return ScriptedResponse{.body = "tunnelled"}; },
                    cert_.cert_pem, cert_.key_pem),
        ca_file_(WriteTempFile("proxy-ca.pem", cert_.cert_pem)) {}
  ~HttpClientProxy() override { std::remove(ca_file_.c_str()); }

  ClientOptions Options(std::map<std::string, std::string, std::less<>> env) const {
    ClientOptions options;
    options.ca_file = ca_file_;
    options.proxies = ProxySettings::FromEnvironment(MapLookup(std::move(env)));
    return options;
  }
  std::string TlsUrl() const {
    return "https://localhost:" + std::to_string(tls_server_.port()) + "/";
  }
  std::string ConnectLine() const {
    return "CONNECT localhost:" + std::to_string(tls_server_.port());
  }

  TestCertificate cert_;
  TestServer tls_server_;
  std::string ca_file_;
};

TEST_F(HttpClientProxy, HttpsGoesThroughAConnectTunnelAndKeepsIt) {
  Tinyproxy proxy;
  ASSERT_TRUE(proxy.ok()) << proxy.error();
  BeastTransport transport(Options({{"HTTPS_PROXY", proxy.url()}}));
  for (int i = 0; i < 3; ++i) {
    Result<HttpResponse> r = transport.Send(Get(TlsUrl()));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->body, "tunnelled");
  }
  // One tunnel, asked for once, carried all three (TLS end to end: the
  // proxy saw only the CONNECT).
  EXPECT_EQ(Count(proxy.log(), ConnectLine()), 1u) << proxy.log();
  EXPECT_EQ(tls_server_.connections(), 1);
}

TEST_F(HttpClientProxy, NoProxyGoesDirect) {
  Tinyproxy proxy;
  ASSERT_TRUE(proxy.ok()) << proxy.error();
  BeastTransport transport(
      Options({{"https_proxy", proxy.url()}, {"no_proxy", "example.com,.localhost"}}));
  Result<HttpResponse> r = transport.Send(Get(TlsUrl()));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(Count(proxy.log(), "CONNECT localhost"), 0u) << proxy.log();
  EXPECT_EQ(tls_server_.connections(), 1);
}

TEST_F(HttpClientProxy, WithoutNoProxyAnUnreachableProxyFailsTheRequest) {
  // Proves the proxy is really in the path: a dead one fails the request.
  const int dead = headcount::testing::FreeLoopbackPort();
  BeastTransport transport(Options({{"HTTPS_PROXY", "http://127.0.0.1:" + std::to_string(dead)}}));
  Result<HttpResponse> r = transport.Send(Get(TlsUrl()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(tls_server_.connections(), 0);
}

TEST_F(HttpClientProxy, PlainHttpGoesThroughTheProxyInAbsoluteForm) {
  Tinyproxy proxy;
  ASSERT_TRUE(proxy.ok()) << proxy.error();
  TestServer plain([](const ReceivedRequest& r) { return ScriptedResponse{.body = r.target}; });
  BeastTransport transport(Options({{"HTTP_PROXY", proxy.url()}}));
  const std::string url = "http://127.0.0.1:" + std::to_string(plain.port()) + "/a?b=c";
  Result<HttpResponse> r = transport.Send(Get(url));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "/a?b=c");
  EXPECT_NE(proxy.log().find("GET " + url), std::string::npos) << proxy.log();
  const std::vector<ReceivedRequest> received = plain.requests();
  const std::string* via = FindHeader(received.at(0).headers, "Via");
  ASSERT_NE(via, nullptr);
  EXPECT_NE(via->find("tinyproxy"), std::string::npos);
}

TEST_F(HttpClientProxy, CredentialsFromTheProxyUrlAreSentAndNeverShown) {
  Tinyproxy proxy("BasicAuth alice s3cret\n");
  ASSERT_TRUE(proxy.ok()) << proxy.error();
  const std::string base = "127.0.0.1:" + std::to_string(proxy.port());
  // "%65" is "e": user info is percent-decoded before it is encoded.
  BeastTransport good(Options({{"HTTPS_PROXY", "http://alice:s3cr%65t@" + base}}));
  Result<HttpResponse> r = good.Send(Get(TlsUrl()));
  ASSERT_TRUE(r.ok()) << r.error().ToString();

  BeastTransport bad(Options({{"HTTPS_PROXY", "http://alice:wrong-pass@" + base}}));
  r = bad.Send(Get(TlsUrl()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  // tinyproxy refuses a CONNECT with 401 (other proxies say 407).
  EXPECT_NE(r.error().message().find("proxy CONNECT: the proxy answered HTTP 40"),
            std::string::npos)
      << r.error().message();
  EXPECT_EQ(r.error().message().find("wrong-pass"), std::string::npos);
  EXPECT_EQ(r.error().message().find("alice"), std::string::npos);
}

TEST_F(HttpClientProxy, ProxyRefusingTheTunnelIsUnavailable) {
  Tinyproxy proxy("ConnectPort 443\n");  // our server's port is not 443
  ASSERT_TRUE(proxy.ok()) << proxy.error();
  BeastTransport transport(Options({{"HTTPS_PROXY", proxy.url()}}));
  Result<HttpResponse> r = transport.Send(Get(TlsUrl()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("proxy CONNECT: the proxy answered HTTP 403"),
            std::string::npos)
      << r.error().message();
  EXPECT_EQ(tls_server_.connections(), 0);
}

}  // namespace
}  // namespace headcount::http_client
