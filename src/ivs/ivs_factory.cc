// MakeIvsAdapters: options + environment -> client, source, publisher.
#include "ivs/ivs_factory.h"

#include <utility>

#include "http_client/beast_transport.h"

namespace headcount {

Result<std::unique_ptr<IvsAdapters>> MakeIvsAdapters(const IvsOptions& options,
                                                     const aws::Environment& env,
                                                     const Clock& clock,
                                                     std::unique_ptr<aws::HttpTransport> transport,
                                                     SleepFunction sleep) {
  if (Status valid = ValidateIvsOptions(options); !valid.ok()) return valid.error();
  if (!sleep) return Error::InvalidArgument("ivs: no sleep function");

  // Explicit settings win over the environment: present them as the
  // variables ClientOptionsFromEnvironment reads.
  const aws::Environment effective = [&options, env](std::string_view name) {
    if (name == "AWS_REGION" && !options.region.empty()) {
      return std::optional<std::string>(options.region);
    }
    if (name == "AWS_ENDPOINT_URL_IVS" && !options.endpoint.empty()) {
      return std::optional<std::string>(options.endpoint);
    }
    return env(name);
  };
  Result<aws::AwsClientOptions> client_options =
      aws::ClientOptionsFromEnvironment(aws::kIvsService, effective);
  if (!client_options.ok()) {
    const Error& e = client_options.error();
    std::string hint;
    if (!options.endpoint.empty()) hint = " (AWS_ENDPOINT_URL_IVS here is the configured endpoint)";
    if (options.region.empty()) hint += " (or set the IVS region in the config)";
    return Error(e.code(), "ivs: " + e.message() + hint);
  }

  auto adapters = std::make_unique<IvsAdapters>();
  adapters->transport =
      transport ? std::move(transport) : std::make_unique<http_client::BeastTransport>();
  adapters->credentials = std::make_unique<aws::DefaultCredentialsChain>(env, *adapters->transport);
  if (Result<aws::Credentials> found = adapters->credentials->Get(clock.Now()); !found.ok()) {
    return Error(found.error().code(),
                 "ivs: no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                 "AWS_PROFILE, or run where a container credentials endpoint is): " +
                     found.error().message());
  }
  Result<std::unique_ptr<aws::AwsClient>> client =
      aws::AwsClient::Create(aws::kIvsService, std::move(*client_options), *adapters->credentials,
                             *adapters->transport, clock, sleep);
  if (!client.ok()) return Error(client.error().code(), "ivs: " + client.error().message());
  adapters->client = std::move(*client);
  adapters->source = std::make_unique<IvsSource>(*adapters->client, clock, options);
  adapters->directory = std::make_unique<IvsChannelDirectory>(*adapters->client, clock);
  adapters->publisher =
      std::make_unique<IvsPublisher>(*adapters->client, clock, options, std::move(sleep));
  return adapters;
}

}  // namespace headcount
