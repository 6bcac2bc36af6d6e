// Shared by the ivs unit tests: an AwsClient for IVS over the aws
// FakeTransport, whose sleeps advance a FakeClock. Not thread-safe setup.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "aws/aws_client.h"
#include "aws/testing/fake_transport.h"
#include "core/time_text.h"

namespace headcount::ivs_testing {

inline WallTime Start() { return *ParseRfc3339("2026-03-01T12:00:00Z"); }

// The n-th test channel ARN (zero-padded so ARN order is numeric order).
inline std::string Arn(int n) {
  std::string id = std::to_string(n);
  id.insert(0, 6 - std::min<std::size_t>(6, id.size()), '0');
  return "arn:aws:ivs:us-west-2:123456789012:channel/ch" + id;
}

struct ClientFixture {
  explicit ClientFixture(aws::HttpTransport* transport_override = nullptr, int max_attempts = 3) {
    aws::AwsClientOptions options;
    options.region = "us-west-2";
    options.endpoint = "https://ivs.us-west-2.amazonaws.com";
    options.jitter_seed = 7;
    options.max_attempts = max_attempts;
    auto created =
        aws::AwsClient::Create(aws::kIvsService, options, credentials,
                               transport_override != nullptr ? *transport_override : transport,
                               clock, [this](std::chrono::nanoseconds d) { clock.Advance(d); });
    EXPECT_TRUE(created.ok());
    client = std::move(*created);
  }

  FakeClock clock{Start()};
  aws::StaticCredentialsProvider credentials{
      aws::Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")};
  aws::testing::FakeTransport transport;
  std::unique_ptr<aws::AwsClient> client;
};

}  // namespace headcount::ivs_testing
