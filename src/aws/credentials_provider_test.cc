// Credentials: no text form shows the secret or the token, and the expiry
// rules (refresh margin, expired, same keys).
#include "aws/credentials_provider.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <concepts>
#include <ostream>
#include <sstream>

#include "aws/credentials.h"
#include "aws/testing/credentials_fixtures.h"

namespace headcount::aws {
namespace {

using testing::At;
using testing::kSecret;
using testing::kToken;

template <typename T>
concept Streamable = requires(std::ostream& out, const T& value) {
  out << value;
};
static_assert(!Streamable<Credentials>, "Credentials must not have an operator<<");

TEST(Credentials, ToStringRedactsSecretAndToken) {
  const Credentials creds("AKIDEXAMPLE12345", kSecret, kToken, At("2026-01-01T00:00:00Z"));
  const std::string text = creds.ToString();
  EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
  EXPECT_EQ(text.find("AKIDEXAMPLE12345"), std::string::npos) << text;
  EXPECT_NE(text.find("AKID****"), std::string::npos) << text;
  EXPECT_NE(text.find("2026-01-01T00:00:00Z"), std::string::npos) << text;
}

TEST(Credentials, LoggingThemNeverShowsTheSecret) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  spdlog::logger logger("creds-test", sink);
  logger.set_level(spdlog::level::trace);
  const Credentials creds("AKIDEXAMPLE12345", kSecret, kToken);
  logger.info("using {}", creds.ToString());
  // What a careless caller would log on failure, too.
  Result<std::optional<Credentials>> partial =
      CredentialsFromEnvironment(MapEnvironment({{"AWS_SECRET_ACCESS_KEY", kSecret}}));
  ASSERT_FALSE(partial.ok());
  logger.error("{}", partial.error().ToString());
  logger.flush();
  EXPECT_NE(captured.str().find("<redacted>"), std::string::npos);
  EXPECT_EQ(captured.str().find(kSecret), std::string::npos) << captured.str();
  EXPECT_EQ(captured.str().find(kToken), std::string::npos) << captured.str();
}

TEST(Credentials, NeedsRefreshBeforeExpiryAndExpiresAtIt) {
  const Credentials lasting("AKID", kSecret);
  EXPECT_FALSE(lasting.NeedsRefresh(At("2100-01-01T00:00:00Z")));
  EXPECT_FALSE(lasting.ExpiredAt(At("2100-01-01T00:00:00Z")));
  const Credentials expiring("AKID", kSecret, kToken, At("2026-01-01T01:00:00Z"));
  EXPECT_FALSE(expiring.NeedsRefresh(At("2026-01-01T00:54:59Z")));
  EXPECT_TRUE(expiring.NeedsRefresh(At("2026-01-01T00:55:00Z")));
  EXPECT_FALSE(expiring.ExpiredAt(At("2026-01-01T00:59:59Z")));
  EXPECT_TRUE(expiring.ExpiredAt(At("2026-01-01T01:00:00Z")));
}

TEST(Credentials, SameKeysWhateverTheExpiry) {
  const Credentials expiring("AKID", kSecret, kToken, At("2026-01-01T01:00:00Z"));
  EXPECT_TRUE(expiring.SameKeys(Credentials("AKID", kSecret, kToken)));
  EXPECT_FALSE(expiring.SameKeys(Credentials("AKID", kSecret)));
  EXPECT_FALSE(expiring.SameKeys(Credentials("AKID2", kSecret, kToken)));
}

}  // namespace
}  // namespace headcount::aws
