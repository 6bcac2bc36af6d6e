// The AWS credentials chain. Sources are pure functions of the environment
// (plus files and the container endpoint); DefaultCredentialsChain caches
// under its mutex. Nothing here logs or returns a secret in a message.
#include "aws/credentials.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "core/small_file.h"
#include "core/strings.h"
#include "core/time_text.h"
#include "net/url.h"

namespace headcount::aws {
namespace {

constexpr std::string_view kDefaultProfile = "default";
constexpr std::size_t kShownKeyIdChars = 4;
constexpr std::size_t kMaxRegionLength = 64;

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

// ---------------------------------------------------------------------------
// Credentials

Credentials::Credentials(std::string access_key_id, std::string secret_access_key,
                         std::string session_token, std::optional<WallTime> expiration)
    : access_key_id_(std::move(access_key_id)),
      secret_access_key_(std::move(secret_access_key)),
      session_token_(std::move(session_token)),
      expiration_(expiration) {}

bool Credentials::NeedsRefresh(WallTime now, std::chrono::seconds margin) const {
  return expiration_.has_value() && now >= *expiration_ - margin;
}

std::string Credentials::ToString() const {
  std::string key = access_key_id_.size() > 2 * kShownKeyIdChars
                        ? access_key_id_.substr(0, kShownKeyIdChars) + "****"
                        : std::string("****");
  std::string out = "Credentials{key=" + key + ", secret=<redacted>, token=";
  out += session_token_.empty() ? "<none>" : "<redacted>";
  out += ", expires=";
  out += expiration_ ? FormatRfc3339(std::chrono::floor<std::chrono::seconds>(*expiration_))
                     : std::string("never");
  out += '}';
  return out;
}

// ---------------------------------------------------------------------------
// Environment

Result<std::optional<Credentials>> CredentialsFromEnvironment(const Environment& env) {
  std::optional<std::string> key = env("AWS_ACCESS_KEY_ID");
  std::optional<std::string> secret = env("AWS_SECRET_ACCESS_KEY");
  if (!key && !secret) return std::optional<Credentials>();
  if (!key || !secret) {
    return Error::InvalidArgument(
        std::string("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together; only ") +
        (key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") + " is set");
  }
  return std::optional<Credentials>(
      Credentials(std::move(*key), std::move(*secret), env("AWS_SESSION_TOKEN").value_or("")));
}

// ---------------------------------------------------------------------------
// Shared credentials file

Result<IniProfiles> ParseIni(std::string_view text) {
  IniProfiles profiles;
  std::map<std::string, std::string>* section = nullptr;
  std::string* last_value = nullptr;  // the property an indented line continues
  int line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    const std::string_view line = Trim(raw);
    const auto error = [&](std::string_view what) {
      return Error::InvalidArgument("line " + std::to_string(line_number) + ": " +
                                    std::string(what));
    };
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (raw.front() == ' ' || raw.front() == '\t') {
      if (last_value == nullptr) return error("indented line continues no property");
      *last_value += '\n';
      *last_value += line;
      continue;
    }
    if (line.front() == '[') {
      const std::size_t close = line.find(']');
      if (close == std::string_view::npos) return error("section header without ']'");
      const std::string_view name = Trim(line.substr(1, close - 1));
      if (name.empty()) return error("empty section name");
      section = &profiles[std::string(name)];
      last_value = nullptr;
      continue;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return error("expected 'key = value'");
    if (section == nullptr) return error("property before any [section]");
    const std::string key = AsciiLower(Trim(line.substr(0, eq)));
    if (key.empty()) return error("property without a name");
    std::string& value = (*section)[key];
    value = std::string(Trim(line.substr(eq + 1)));
    last_value = &value;
  }
  return profiles;
}

// A file that holds a secret key should be readable by its owner only (the
// AWS CLI writes it 0600). Warns, naming the file and never its content; the
// keys are still used, as the AWS SDKs do.
void WarnIfReadableByOthers(const std::string& path) {
  using std::filesystem::perms;
  std::error_code ec;
  const perms mode = std::filesystem::status(path, ec).permissions();
  if (ec || (mode & (perms::group_read | perms::others_read)) == perms::none) return;
  spdlog::warn(
      "aws: the shared credentials file {} holds a secret key but other users can read it "
      "(mode {:04o}); run: chmod 600 {}",
      path, static_cast<unsigned>(mode & perms::mask), path);
}

Result<std::optional<Credentials>> CredentialsFromSharedFile(const Environment& env) {
  std::string path;
  if (std::optional<std::string> p = env("AWS_SHARED_CREDENTIALS_FILE")) {
    path = std::move(*p);
    if (path.starts_with("~/")) {
      std::optional<std::string> home = env("HOME");
      if (!home) {
        return Error::InvalidArgument("AWS_SHARED_CREDENTIALS_FILE uses ~ but HOME is unset");
      }
      path = *home + path.substr(1);
    }
  } else if (std::optional<std::string> home = env("HOME")) {
    path = *home + "/.aws/credentials";
  } else {
    return std::optional<Credentials>();
  }
  const std::optional<std::string> named_profile = env("AWS_PROFILE");
  const std::string profile = named_profile.value_or(std::string(kDefaultProfile));

  Result<std::string> text = ReadSmallFile(path, kMaxSharedFileBytes);
  if (!text.ok()) {
    if (text.error().code() != ErrorCode::kNotFound) {
      return Error::Io("cannot read the shared credentials file: " + text.error().message());
    }
    if (named_profile) {
      return Error::NotFound("AWS_PROFILE is \"" + profile + "\" but " + path + " does not exist");
    }
    return std::optional<Credentials>();
  }
  Result<IniProfiles> profiles = ParseIni(*text);
  if (!profiles.ok()) {
    return Error::InvalidArgument("shared credentials file " + path + ": " +
                                  profiles.error().message());
  }
  auto it = profiles->find(profile);
  if (it == profiles->end()) {
    if (named_profile) {
      return Error::NotFound("profile \"" + profile + "\" (AWS_PROFILE) is not in " + path);
    }
    return std::optional<Credentials>();
  }
  const auto& values = it->second;
  auto key = values.find("aws_access_key_id");
  auto secret = values.find("aws_secret_access_key");
  if (key == values.end() || secret == values.end() || key->second.empty() ||
      secret->second.empty()) {
    return Error::InvalidArgument("profile \"" + profile + "\" in " + path +
                                  " lacks aws_access_key_id or aws_secret_access_key (role, "
                                  "SSO and credential_process profiles are not supported)");
  }
  WarnIfReadableByOthers(path);
  auto token = values.find("aws_session_token");
  return std::optional<Credentials>(Credentials(
      key->second, secret->second, token == values.end() ? std::string() : token->second));
}

// ---------------------------------------------------------------------------
// Container endpoint

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

// ---------------------------------------------------------------------------
// The default chain

DefaultCredentialsChain::DefaultCredentialsChain(Environment env, HttpTransport& transport)
    : env_(std::move(env)), transport_(transport) {}

Result<Credentials> DefaultCredentialsChain::Resolve() {
  Result<std::optional<Credentials>> from_env = CredentialsFromEnvironment(env_);
  if (!from_env.ok()) return from_env.error();
  if (*from_env) {
    source_ = "environment";
    return **from_env;
  }
  Result<std::optional<Credentials>> from_file = CredentialsFromSharedFile(env_);
  if (!from_file.ok()) return from_file.error();
  if (*from_file) {
    source_ = "shared-file";
    return **from_file;
  }
  Result<std::optional<ContainerEndpoint>> endpoint = ContainerEndpointFromEnvironment(env_);
  if (!endpoint.ok()) return endpoint.error();
  if (*endpoint) {
    Result<Credentials> fetched = FetchContainerCredentials(**endpoint, transport_);
    if (fetched.ok()) source_ = "container";
    return fetched;
  }
  return Error::NotFound(
      "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, add a profile to "
      "~/.aws/credentials (AWS_PROFILE), or run where the container credentials endpoint is "
      "configured");
}

Result<Credentials> DefaultCredentialsChain::Get(WallTime now) {
  std::lock_guard lock(mu_);
  if (cached_ && !cached_->NeedsRefresh(now)) return *cached_;
  Result<Credentials> fresh = Resolve();
  if (fresh.ok()) {
    cached_ = *fresh;
    return fresh;
  }
  if (cached_ && cached_->expiration() && now < *cached_->expiration()) {
    spdlog::warn("aws: refreshing credentials failed, using the current ones until they expire: {}",
                 fresh.error().ToString());
    return *cached_;
  }
  return fresh;
}

bool DefaultCredentialsChain::Invalidate(const Credentials& rejected) {
  std::lock_guard lock(mu_);
  if (!cached_) return true;
  const bool same = cached_->access_key_id() == rejected.access_key_id() &&
                    cached_->secret_access_key() == rejected.secret_access_key() &&
                    cached_->session_token() == rejected.session_token();
  if (!same) return true;  // already refreshed by another call
  if (source_ == "environment") return false;
  spdlog::warn("aws: the service says the {} credentials have expired; fetching them again",
               source_);
  cached_.reset();
  return true;
}

std::string DefaultCredentialsChain::source() const {
  std::lock_guard lock(mu_);
  return cached_ ? source_ : std::string();
}

Result<std::string> RegionFromEnvironment(const Environment& env) {
  std::optional<std::string> region = env("AWS_REGION");
  const char* variable = "AWS_REGION";
  if (!region) {
    region = env("AWS_DEFAULT_REGION");
    variable = "AWS_DEFAULT_REGION";
  }
  if (!region) {
    return Error::InvalidArgument(
        "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), e.g. AWS_REGION=us-east-1");
  }
  const bool valid =
      region->size() <= kMaxRegionLength && std::all_of(region->begin(), region->end(), [](char c) {
        return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '-';
      });
  if (!valid) {
    return Error::InvalidArgument(std::string(variable) + " is not a region name: \"" + *region +
                                  "\"");
  }
  return *region;
}

}  // namespace headcount::aws
