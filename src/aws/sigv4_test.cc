// SigV4: AWS's official signing test suite (vendored v4 header cases) and
// the building blocks.
#include "aws/sigv4.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/strings.h"
#include "core/testing/files.h"
#include "core/time_text.h"

namespace headcount::aws {
namespace {

namespace fs = std::filesystem;

const fs::path kSuiteDir = HEADCOUNT_AWS_SIGNING_SUITE_DIR;

// Suite cases this signer does not support, with the reason; each is
// reported as skipped by name. Only the header-signing ("header-*.txt")
// variants are vendored: presigned URLs ("query-*.txt") and SigV4a ("v4a/")
// are not implemented, so their files are not in the repo at all.
const std::map<std::string, std::string> kUnsupportedCases = {};

using headcount::testing::ReadFile;

struct ParsedRequest {
  std::string method;
  std::string path;
  std::string query;
  HttpHeaders headers;
  std::string body;
};

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));
      return lines;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

// Parses a suite request file the way aws-c-auth's test harness does: the
// request line ends in " HTTP/1.1"; an indented line continues the previous
// header (kept with its line break, for the signer to fold); the body is
// everything after the empty line.
ParsedRequest ParseSuiteRequest(const std::string& text) {
  ParsedRequest r;
  const std::vector<std::string> lines = SplitLines(text);
  const std::string& first = lines.at(0);
  const std::size_t space = first.find(' ');
  r.method = first.substr(0, space);
  const std::string uri = first.substr(space + 1, first.size() - space - 1 - 9);
  const std::size_t q = uri.find('?');
  r.path = uri.substr(0, q);
  if (q != std::string::npos) r.query = uri.substr(q + 1);
  std::size_t i = 1;
  for (; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') {
      r.headers.back().value += "\n" + line;
    } else {
      const std::size_t colon = line.find(':');
      r.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
    }
  }
  if (i + 1 < lines.size()) {
    std::size_t offset = 0;
    for (std::size_t k = 0; k <= i; ++k) offset += lines[k].size() + 1;
    r.body = text.substr(offset);
  }
  return r;
}

std::vector<std::string> SuiteCases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kSuiteDir / "v4")) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class SigningSuiteTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SigningSuiteTest, HeaderSigningMatches) {
  const std::string& name = GetParam();
  if (auto it = kUnsupportedCases.find(name); it != kUnsupportedCases.end()) {
    GTEST_SKIP() << name << ": " << it->second;
  }
  const fs::path dir = kSuiteDir / "v4" / name;
  const nlohmann::json context = nlohmann::json::parse(ReadFile(dir / "context.json"));
  const ParsedRequest parsed = ParseSuiteRequest(ReadFile(dir / "request.txt"));

  const auto& creds = context.at("credentials");
  const Credentials credentials(creds.at("access_key_id").get<std::string>(),
                                creds.at("secret_access_key").get<std::string>(),
                                creds.value("token", std::string()));
  Result<WallTime> time = ParseRfc3339(context.at("timestamp").get<std::string>());
  ASSERT_TRUE(time.ok());

  SigningParams params;
  params.service = context.at("service").get<std::string>();
  params.region = context.at("region").get<std::string>();
  params.time = *time;
  params.normalize_path = context.at("normalize").get<bool>();
  params.double_encode_path = true;  // every suite case is for a non-S3 service
  params.add_content_sha256_header = context.at("sign_body").get<bool>();
  params.omit_session_token = context.value("omit_session_token", false);

  SigningRequest request;
  request.method = parsed.method;
  request.path = parsed.path;
  request.query = parsed.query;
  request.headers = parsed.headers;
  request.body = parsed.body;

  Result<SigningResult> signed_request = SignRequest(request, credentials, params);
  ASSERT_TRUE(signed_request.ok()) << signed_request.error().ToString();
  EXPECT_EQ(signed_request->canonical_request, ReadFile(dir / "header-canonical-request.txt"));
  EXPECT_EQ(signed_request->string_to_sign, ReadFile(dir / "header-string-to-sign.txt"));
  EXPECT_EQ(signed_request->signature, ReadFile(dir / "header-signature.txt"));

  // The signed request is the input plus the signer's headers, in order.
  const ParsedRequest expected = ParseSuiteRequest(ReadFile(dir / "header-signed-request.txt"));
  HttpHeaders actual_headers = parsed.headers;
  for (const auto& h : signed_request->headers_to_add) actual_headers.push_back(h);
  ASSERT_EQ(actual_headers.size(), expected.headers.size());
  for (std::size_t i = 0; i < actual_headers.size(); ++i) {
    EXPECT_EQ(AsciiLower(actual_headers[i].name), AsciiLower(expected.headers[i].name));
    EXPECT_EQ(actual_headers[i].value, expected.headers[i].value);
  }
  EXPECT_EQ(parsed.method, expected.method);
  EXPECT_EQ(parsed.body, expected.body);
}

INSTANTIATE_TEST_SUITE_P(AwsSigningTestSuite, SigningSuiteTest, ::testing::ValuesIn(SuiteCases()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

TEST(SigningSuite, VendoredCasesArePresent) {
  // Guards against an empty or misplaced data directory silently passing.
  EXPECT_GE(SuiteCases().size(), 38u);
}

TEST(SigV4, DerivesTheDocumentedSigningKey) {
  // The example in AWS's "Deriving the signing key" documentation.
  const auto key =
      DeriveSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam");
  std::string hex;
  for (auto b : key) {
    static constexpr char kDigits[] = "0123456789abcdef";
    hex += kDigits[b >> 4];
    hex += kDigits[b & 0xF];
  }
  EXPECT_EQ(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

std::string Hex(const std::array<std::uint8_t, 32>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (auto b : bytes) {
    hex += kDigits[b >> 4];
    hex += kDigits[b & 0xF];
  }
  return hex;
}

TEST(SigV4, Sha256HexIsLowerCaseHex) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SigV4, SigningKeyFollowsEachInputFromCallToCall) {
  // DeriveSigningKey keeps the last key per thread: a change in any input
  // must give the key for the new inputs, and going back the old one.
  const std::string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  const auto documented = DeriveSigningKey(secret, "20120215", "us-east-1", "iam");
  const auto other_day = DeriveSigningKey(secret, "20120216", "us-east-1", "iam");
  const auto other_region = DeriveSigningKey(secret, "20120215", "us-west-2", "iam");
  const auto other_service = DeriveSigningKey(secret, "20120215", "us-east-1", "ivs");
  const auto other_secret = DeriveSigningKey(secret + "x", "20120215", "us-east-1", "iam");
  for (const auto& k : {other_day, other_region, other_service, other_secret}) {
    EXPECT_NE(Hex(k), Hex(documented));
  }
  EXPECT_EQ(Hex(DeriveSigningKey(secret, "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
  EXPECT_EQ(Hex(DeriveSigningKey(secret, "20120216", "us-east-1", "iam")), Hex(other_day));
}

TEST(SigV4, FormatsAmzDate) {
  Result<WallTime> t = ParseRfc3339("2026-01-02T03:04:05.900Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatAmzDate(*t), "20260102T030405Z");
}

TEST(SigV4, UriEncodesEverythingButUnreserved) {
  EXPECT_EQ(UriEncode("a b/c~d*e+f%", false), "a%20b%2Fc~d%2Ae%2Bf%25");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
}

TEST(SigV4, PathEncodingFollowsServiceRules) {
  // Non-S3: the wire path (already encoded) is encoded again.
  EXPECT_EQ(CanonicalPath("/channels/arn%3Aaws", true, true), "/channels/arn%253Aaws");
  // S3 style: the wire path as is, not normalized.
  EXPECT_EQ(CanonicalPath("/a//b/../c%20d", false, false), "/a//b/../c%20d");
  EXPECT_EQ(CanonicalPath("", true, true), "/");
  EXPECT_EQ(CanonicalPath("/a/./b/../../c/", true, false), "/c/");
}

TEST(SigV4, CanonicalQuerySortsAndReencodes) {
  EXPECT_EQ(CanonicalQuery("b=2&a=%7e&a=1&flag"), "a=1&a=~&b=2&flag=");
  EXPECT_EQ(CanonicalQuery(""), "");
}

TEST(SigV4, RefusesMissingHostAndSignerHeaders) {
  const Credentials creds("AKIDEXAMPLE", "secret");
  SigningParams params{.service = "ivs", .region = "us-west-2", .time = WallTime{}};
  SigningRequest request{.method = "POST", .path = "/", .query = "", .headers = {}, .body = ""};
  Result<SigningResult> r = SignRequest(request, creds, params);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);

  request.headers = {{"Host", "ivs.us-west-2.amazonaws.com"}, {"X-Amz-Date", "x"}};
  r = SignRequest(request, creds, params);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST(SigV4, DoesNotSignUserAgent) {
  const Credentials creds("AKIDEXAMPLE", "secret");
  SigningParams params{.service = "ivs", .region = "us-west-2", .time = WallTime{}};
  SigningRequest request{.method = "POST",
                         .path = "/ListStreams",
                         .query = "",
                         .headers = {{"Host", "h"}, {"User-Agent", "headcount"}},
                         .body = "{}"};
  Result<SigningResult> r = SignRequest(request, creds, params);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->canonical_request.find("user-agent"), std::string::npos);
  EXPECT_NE(r->headers_to_add.back().value.find("SignedHeaders=host;x-amz-date,"),
            std::string::npos);
}

}  // namespace
}  // namespace headcount::aws
