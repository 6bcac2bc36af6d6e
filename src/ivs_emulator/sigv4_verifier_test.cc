#include "ivs_emulator/sigv4_verifier.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/strings.h"
#include "ivs_emulator/testing/signed_request.h"

namespace headcount::ivs_emulator {
namespace {

using testing::SignedRequest;
using testing::SignOptions;

const WallTime kSignedAt =
    std::chrono::sys_days{std::chrono::year{2026} / 11 / 25} + std::chrono::hours{12};
const VerifierConfig kConfig{"test", "test", "us-west-2", "ivs"};

std::string TypeOf(const std::optional<AuthFailure>& f) { return f ? f->error_type : "accepted"; }

TEST(VerifySigV4Test, AcceptsAValidSignature) {
  const auto request = SignedRequest("ListStreams", R"({"maxResults":10})", kSignedAt);
  EXPECT_EQ(TypeOf(VerifySigV4(request, kConfig, kSignedAt)), "accepted");
}

TEST(VerifySigV4Test, AcceptsSkewUpToFifteenMinutesEitherWay) {
  const auto old = SignedRequest("ListStreams", "{}", kSignedAt - std::chrono::minutes(14));
  EXPECT_EQ(TypeOf(VerifySigV4(old, kConfig, kSignedAt)), "accepted");
  const auto ahead = SignedRequest("ListStreams", "{}", kSignedAt + std::chrono::minutes(14));
  EXPECT_EQ(TypeOf(VerifySigV4(ahead, kConfig, kSignedAt)), "accepted");
}

TEST(VerifySigV4Test, RejectsExpiredAndFutureSignatures) {
  const auto old = SignedRequest("ListStreams", "{}", kSignedAt - std::chrono::minutes(16));
  const auto expired = VerifySigV4(old, kConfig, kSignedAt);
  ASSERT_EQ(TypeOf(expired), "InvalidSignatureException");
  EXPECT_EQ(expired->message,
            "Signature expired: 20261125T114400Z is now earlier than 20261125T114500Z "
            "(20261125T120000Z - 15 min.)");
  const auto ahead = SignedRequest("ListStreams", "{}", kSignedAt + std::chrono::minutes(16));
  const auto future = VerifySigV4(ahead, kConfig, kSignedAt);
  ASSERT_EQ(TypeOf(future), "InvalidSignatureException");
  EXPECT_NE(future->message.find("Signature not yet current"), std::string::npos);
}

TEST(VerifySigV4Test, RejectsAWrongSecret) {
  SignOptions opt;
  opt.secret_access_key = "wrong";
  const auto failure =
      VerifySigV4(SignedRequest("ListStreams", "{}", kSignedAt, opt), kConfig, kSignedAt);
  ASSERT_EQ(TypeOf(failure), "InvalidSignatureException");
  EXPECT_EQ(failure->message.rfind("The request signature we calculated does not match", 0), 0u);
  // The texts it was computed over help a client author; they hold no secret.
  EXPECT_NE(failure->message.find("POST\n/ListStreams\n"), std::string::npos);
  EXPECT_EQ(failure->message.find("test\n"), std::string::npos);
}

TEST(VerifySigV4Test, RejectsAnUnknownAccessKey) {
  SignOptions opt;
  opt.access_key_id = "AKIDOTHER";
  const auto failure =
      VerifySigV4(SignedRequest("ListStreams", "{}", kSignedAt, opt), kConfig, kSignedAt);
  ASSERT_EQ(TypeOf(failure), "UnrecognizedClientException");
  EXPECT_EQ(failure->message, "The security token included in the request is invalid.");
}

TEST(VerifySigV4Test, RejectsTheWrongRegionOrService) {
  SignOptions region;
  region.region = "eu-west-1";
  EXPECT_EQ(TypeOf(VerifySigV4(SignedRequest("ListStreams", "{}", kSignedAt, region), kConfig,
                               kSignedAt)),
            "InvalidSignatureException");
  SignOptions service;
  service.service = "dynamodb";
  const auto failure =
      VerifySigV4(SignedRequest("ListStreams", "{}", kSignedAt, service), kConfig, kSignedAt);
  ASSERT_EQ(TypeOf(failure), "InvalidSignatureException");
  EXPECT_EQ(failure->message, "Credential should be scoped to correct service: 'ivs'. ");
}

TEST(VerifySigV4Test, RejectsATamperedBodyPathOrHeader) {
  auto body = SignedRequest("PutMetadata", R"({"metadata":"a"})", kSignedAt);
  body.body = R"({"metadata":"b"})";
  EXPECT_EQ(TypeOf(VerifySigV4(body, kConfig, kSignedAt)), "InvalidSignatureException");
  auto path = SignedRequest("ListStreams", "{}", kSignedAt);
  path.target = path.path = "/ListChannels";
  EXPECT_EQ(TypeOf(VerifySigV4(path, kConfig, kSignedAt)), "InvalidSignatureException");
  auto header = SignedRequest("ListStreams", "{}", kSignedAt);
  header.headers["host"] = "evil.example";
  EXPECT_EQ(TypeOf(VerifySigV4(header, kConfig, kSignedAt)), "InvalidSignatureException");
}

TEST(VerifySigV4Test, RejectsMissingOrMalformedAuthentication) {
  auto none = SignedRequest("ListStreams", "{}", kSignedAt);
  none.headers.erase("authorization");
  const auto missing = VerifySigV4(none, kConfig, kSignedAt);
  ASSERT_EQ(TypeOf(missing), "MissingAuthenticationTokenException");
  EXPECT_EQ(missing->message, "Missing Authentication Token");

  auto basic = SignedRequest("ListStreams", "{}", kSignedAt);
  basic.headers["authorization"] = "Basic dGVzdDp0ZXN0";
  EXPECT_EQ(TypeOf(VerifySigV4(basic, kConfig, kSignedAt)), "IncompleteSignatureException");

  auto partial = SignedRequest("ListStreams", "{}", kSignedAt);
  partial.headers["authorization"] =
      "AWS4-HMAC-SHA256 Credential=test/20261125/us-west-2/ivs/aws4_request";
  EXPECT_EQ(TypeOf(VerifySigV4(partial, kConfig, kSignedAt)), "IncompleteSignatureException");

  auto no_date = SignedRequest("ListStreams", "{}", kSignedAt);
  no_date.headers.erase("x-amz-date");
  EXPECT_EQ(TypeOf(VerifySigV4(no_date, kConfig, kSignedAt)), "IncompleteSignatureException");

  auto host_unsigned = SignedRequest("ListStreams", "{}", kSignedAt);
  auto& auth = host_unsigned.headers["authorization"];
  auth.replace(auth.find("SignedHeaders=content-type;host;"), 32, "SignedHeaders=content-type;");
  EXPECT_EQ(TypeOf(VerifySigV4(host_unsigned, kConfig, kSignedAt)), "IncompleteSignatureException");
}

// Requests of AWS's own signing test suite, signed by AWS's reference signer,
// must verify (with the suite's key, region and service).
class SigningSuiteTest : public ::testing::TestWithParam<const char*> {};

HttpRequest ParseSuiteRequest(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  HttpRequest request;
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  request.method = line.substr(0, sp1);
  request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  request.path = request.target.substr(0, request.target.find('?'));
  while (std::getline(in, line) && !line.empty()) {
    const auto colon = line.find(':');
    const std::string name = AsciiLower(line.substr(0, colon));
    const std::string value = line.substr(colon + 1);
    auto [it, inserted] = request.headers.emplace(name, value);
    if (!inserted) it->second += "," + value;
  }
  std::ostringstream body;
  body << in.rdbuf();
  request.body = body.str();
  return request;
}

TEST_P(SigningSuiteTest, Verifies) {
  const std::string dir = std::string(HEADCOUNT_AWS_SIGNING_SUITE_DIR) + "/v4/" + GetParam();
  std::ifstream file(dir + "/header-signed-request.txt", std::ios::binary);
  ASSERT_TRUE(file) << dir;
  std::ostringstream text;
  text << file.rdbuf();
  const HttpRequest request = ParseSuiteRequest(text.str());
  const VerifierConfig config{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                              "us-east-1", "service"};
  const WallTime now = std::chrono::sys_days{std::chrono::year{2015} / 8 / 30} +
                       std::chrono::hours{12} + std::chrono::minutes{36};
  const auto failure = VerifySigV4(request, config, now);
  EXPECT_FALSE(failure.has_value()) << failure->error_type << ": " << failure->message;
}

INSTANTIATE_TEST_SUITE_P(AwsV4, SigningSuiteTest,
                         ::testing::Values("get-vanilla", "get-vanilla-query-order-key-case",
                                           "get-vanilla-query-unreserved", "get-unreserved",
                                           "get-header-value-trim", "get-slashes-normalized",
                                           "post-vanilla", "post-vanilla-query",
                                           "post-header-key-sort", "post-header-value-case",
                                           "post-x-www-form-urlencoded"));

}  // namespace
}  // namespace headcount::ivs_emulator
