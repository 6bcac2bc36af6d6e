// The HTTP client over TLS against a Beast TLS server on loopback, with a
// certificate made at test time: verified against the CA file, refused for
// an unknown CA and for a host name the certificate does not name.
#include <gtest/gtest.h>

#include <string>

#include "http_client/beast_transport.h"
#include "http_client/testing/test_certs.h"
#include "http_client/testing/test_server.h"

namespace headcount::http_client {
namespace {

using testing::MakeSelfSignedCertificate;
using testing::ReceivedRequest;
using testing::ScriptedResponse;
using testing::TestCertificate;
using testing::TestServer;
using testing::WriteTempFile;

ClientOptions WithCaFile(std::string ca_file) {
  ClientOptions options;
  options.ca_file = std::move(ca_file);
  return options;
}

class HttpClientTls : public ::testing::Test {
 protected:
  HttpClientTls()
      : cert_(MakeSelfSignedCertificate("localhost")),
        server_(
            [](const ReceivedRequest& r) { return ScriptedResponse{.body = "secure " + r.target}; },
            cert_.cert_pem, cert_.key_pem),
        ca_file_(WriteTempFile("ca.pem", cert_.cert_pem)) {}
  ~HttpClientTls() override { std::remove(ca_file_.c_str()); }

  std::string Url(const std::string& host) const {
    return "https://" + host + ":" + std::to_string(server_.port()) + "/x";
  }
  static HttpRequest Get(std::string url) {
    HttpRequest request;
    request.url = std::move(url);
    return request;
  }

  TestCertificate cert_;
  TestServer server_;
  std::string ca_file_;
};

TEST_F(HttpClientTls, VerifiedAgainstTheCaFileAndKeptAlive) {
  BeastTransport transport(WithCaFile(ca_file_));
  for (int i = 0; i < 3; ++i) {
    Result<HttpResponse> r = transport.Send(Get(Url("localhost")));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "secure /x");
  }
  EXPECT_EQ(server_.connections(), 1);
}

TEST_F(HttpClientTls, CertificateFromAnotherCaIsRefused) {
  const TestCertificate other = MakeSelfSignedCertificate("localhost");
  const std::string other_ca = WriteTempFile("other-ca.pem", other.cert_pem);
  BeastTransport transport(WithCaFile(other_ca));
  Result<HttpResponse> r = transport.Send(Get(Url("localhost")));
  std::remove(other_ca.c_str());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("TLS handshake: certificate verify failed"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HttpClientTls, SystemStoreDoesNotTrustATestCertificate) {
  BeastTransport transport(ClientOptions{});  // no CA file: OpenSSL's default paths
  Result<HttpResponse> r = transport.Send(Get(Url("localhost")));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
}

TEST_F(HttpClientTls, HostNameTheCertificateDoesNotNameIsRefused) {
  // The certificate names DNS:localhost only; 127.0.0.1 is the same server.
  BeastTransport transport(WithCaFile(ca_file_));
  Result<HttpResponse> r = transport.Send(Get(Url("127.0.0.1")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("mismatch"), std::string::npos) << r.error().message();
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HttpClientTls, UnreadableCaFileFailsEachHttpsRequest) {
  BeastTransport transport(WithCaFile("/nonexistent/ca.pem"));
  Result<HttpResponse> r = transport.Send(Get(Url("localhost")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("/nonexistent/ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace headcount::http_client
