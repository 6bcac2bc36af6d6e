// The container credentials endpoint: its address from the environment, one
// GET, the JSON answer. Nothing here logs or returns a secret in a message.
// Thread-safe.
#include "aws/container_credentials.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/small_file.h"
#include "core/strings.h"
#include "core/time_text.h"
#include "net/url.h"

namespace headcount::aws {
namespace {

// Hosts a container FULL_URI may use over plain http: loopback and the
// ECS/EKS agents (the credentials would otherwise cross a network in clear).
// `host` follows Url's convention (lower case, IPv6 without brackets).
bool IsAllowedHttpHost(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "169.254.170.2" || host == "169.254.170.23" ||
      host == "fd00:ec2::23") {
    return true;
  }
  // An IPv4 literal in 127.0.0.0/8 (not a name such as "127.example.com").
  const bool ipv4_literal =
      std::all_of(host.begin(), host.end(), [](char c) { return IsDigit(c) || c == '.'; });
  return ipv4_literal && host.starts_with("127.");
}

// The endpoint for messages: without its query, which may hold a secret.
std::string EndpointForMessages(const std::string& url) {
  Result<Url> parsed = ParseUrl(url);
  return parsed.ok() ? parsed->Origin() + parsed->path : std::string("(malformed URL)");
}

}  // namespace

Result<std::optional<ContainerEndpoint>> ContainerEndpointFromEnvironment(const Environment& env) {
  ContainerEndpoint endpoint;
  if (std::optional<std::string> relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    if (!relative->starts_with('/')) {
      return Error::InvalidArgument("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
    }
    endpoint.url = std::string(kContainerRelativeHost) + *relative;
  } else if (std::optional<std::string> full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    Result<Url> url = ParseUrl(*full);
    if (!url.ok()) {
      return Error::InvalidArgument("AWS_CONTAINER_CREDENTIALS_FULL_URI: " + url.error().message());
    }
    if (url->scheme == "http" && !IsAllowedHttpHost(url->host)) {
      return Error::InvalidArgument(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI over http must name a loopback address or the "
          "container agent (169.254.170.2, 169.254.170.23, fd00:ec2::23), not " +
          url->host);
    }
    endpoint.url = *full;
  } else {
    return std::optional<ContainerEndpoint>();
  }
  endpoint.authorization_token_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  if (!endpoint.authorization_token_file) {
    endpoint.authorization_token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  }
  return std::optional<ContainerEndpoint>(std::move(endpoint));
}

Result<Credentials> ParseContainerCredentials(std::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Error::Rejected("container credentials: body is not a JSON object");
  auto text = [&](const char* name) -> std::optional<std::string> {
    auto it = doc.find(name);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  std::optional<std::string> key = text("AccessKeyId");
  std::optional<std::string> secret = text("SecretAccessKey");
  if (!key || !secret || key->empty() || secret->empty()) {
    return Error::Rejected("container credentials: AccessKeyId or SecretAccessKey missing");
  }
  std::optional<WallTime> expiration;
  if (std::optional<std::string> e = text("Expiration")) {
    Result<WallTime> t = ParseRfc3339(*e);
    if (!t.ok()) return Error::Rejected("container credentials: bad Expiration: " + *e);
    expiration = *t;
  }
  return Credentials(std::move(*key), std::move(*secret), text("Token").value_or(""), expiration);
}

Result<Credentials> FetchContainerCredentials(const ContainerEndpoint& endpoint,
                                              HttpTransport& transport) {
  HttpRequest request;
  request.method = "GET";
  request.url = endpoint.url;
  request.connect_timeout = kContainerConnectTimeout;
  request.timeout = kContainerRequestTimeout;
  request.max_response_bytes = kMaxContainerResponseBytes;
  request.headers.push_back({"Accept", "application/json"});
  std::optional<std::string> token = endpoint.authorization_token;
  if (endpoint.authorization_token_file) {
    Result<std::string> text =
        ReadSmallFile(*endpoint.authorization_token_file, kMaxContainerTokenFileBytes);
    if (!text.ok()) {
      return Error::Io("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: " +
                       text.error().message());
    }
    token = std::string(Trim(*text));
  }
  if (token) {
    if (token->find_first_of("\r\n") != std::string::npos) {
      return Error::InvalidArgument("container authorization token contains a line break");
    }
    request.headers.push_back({"Authorization", *token});
  }
  Result<HttpResponse> response = transport.Send(request);
  if (!response.ok()) {
    return Error(response.error().code(), "container credentials endpoint " +
                                              EndpointForMessages(endpoint.url) + ": " +
                                              response.error().message());
  }
  if (response->status != 200) {
    return Error::Rejected("container credentials endpoint " + EndpointForMessages(endpoint.url) +
                           " answered HTTP " + std::to_string(response->status));
  }
  return ParseContainerCredentials(response->body);
}

}  // namespace headcount::aws
