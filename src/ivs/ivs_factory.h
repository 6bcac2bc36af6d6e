// Builds the Amazon IVS adapters from IvsOptions and the environment: the
// credentials chain, region and endpoint (AWS_REGION, AWS_ENDPOINT_URL_IVS,
// ...), one AwsClient shared by source and publisher. Thread-safe to call.
#pragma once

#include <memory>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/environment.h"
#include "aws/http_transport.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/retry.h"
#include "ivs/ivs_channel_directory.h"
#include "ivs/ivs_options.h"
#include "ivs/ivs_publisher.h"
#include "ivs/ivs_source.h"

namespace headcount {

// Everything the adapters need, owned together. Members are declared in
// dependency order, so they are destroyed users first. Not copyable or
// movable: hold it by unique_ptr.
struct IvsAdapters {
  IvsAdapters() = default;
  IvsAdapters(const IvsAdapters&) = delete;
  IvsAdapters& operator=(const IvsAdapters&) = delete;

  std::unique_ptr<aws::HttpTransport> transport;
  std::unique_ptr<aws::CredentialsProvider> credentials;
  std::unique_ptr<aws::AwsClient> client;
  std::unique_ptr<IvsSource> source;
  std::unique_ptr<IvsPublisher> publisher;
  std::unique_ptr<IvsChannelDirectory> directory;
};

// Checks `options` (ValidateIvsOptions), resolves the region
// (options.region, else AWS_REGION / AWS_DEFAULT_REGION) and the endpoint
// (options.endpoint, else AWS_ENDPOINT_URL_IVS / AWS_ENDPOINT_URL, else the
// regional IVS host), and fetches credentials once from the default chain so
// a missing identity shows at start-up rather than at the first tick.
// `transport` (default: a new http_client::BeastTransport) carries both the IVS calls and
// the container-credentials requests. `clock` must outlive the result.
// Errors (kInvalidArgument for settings, the chain's error for credentials)
// say which setting or variable to fix, and never contain a secret.
Result<std::unique_ptr<IvsAdapters>> MakeIvsAdapters(
    const IvsOptions& options, const aws::Environment& env, const Clock& clock,
    std::unique_ptr<aws::HttpTransport> transport = nullptr, SleepFunction sleep = RealSleep());

}  // namespace headcount
