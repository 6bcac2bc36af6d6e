// The settings of proxy mode (`serve --upstream`): the upstream template,
// the channels served, the upstream client's timeout, cache and CA file, and
// the credentials sent upstream, which are secrets. Rows of the settings
// table (config_settings.cc).
#include "cli/config_proxy_settings.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/config_values.h"
#include "core/samples.h"
#include "core/strings.h"
#include "origin/upstream_session.h"
#include "origin/upstream_template.h"

namespace headcount::config_internal {
namespace {

// The media cache of proxy mode lives in memory.
constexpr std::size_t kMaxUpstreamCacheBytes = std::size_t{64} << 30;
// What a secret's value is shown as.
constexpr std::string_view kHiddenValue = "***";

// The lines of a repeatable setting's text, empty ones dropped.
std::vector<std::string_view> RepeatedValues(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t end = text.find(kRepeatedValueSeparator);
    const std::string_view line = Trim(text.substr(0, end));
    if (!line.empty()) out.push_back(line);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return out;
}

}  // namespace

Status SetUpstream(Config& c, const std::string& v) {
  if (v.empty()) {
    c.upstream.clear();
    return {};
  }
  Result<UpstreamTemplate> parsed = UpstreamTemplate::Parse(v);
  if (!parsed.ok()) return parsed.error();
  c.upstream = v;
  return {};
}

Status SetChannels(Config& c, const std::string& v) {
  c.channels.clear();
  std::size_t start = 0;
  while (start <= v.size()) {
    const std::size_t comma = std::min(v.find(',', start), v.size());
    const std::string channel(Trim(std::string_view(v).substr(start, comma - start)));
    if (!channel.empty()) {
      if (!IsValidChannelId(channel)) {
        return Error::InvalidArgument("\"" + channel.substr(0, kMaxChannelIdBytes) +
                                      "\" is not a channel name (1-" +
                                      std::to_string(kMaxChannelIdBytes) + " of A-Z a-z 0-9 _ -)");
      }
      c.channels.push_back(channel);
    }
    start = comma + 1;
  }
  return {};
}

std::string ShowChannels(const Config& c) {
  std::string out;
  for (const auto& channel : c.channels) out += (out.empty() ? "" : ",") + channel;
  return out;
}

Status SetUpstreamTimeout(Config& c, const std::string& v) {
  auto s = SecondsBetween(v, kMinTimeout, kMaxUpstreamTimeout);
  if (!s.ok()) return s.error();
  c.upstream_timeout = *s;
  return {};
}

Status SetUpstreamCacheSize(Config& c, const std::string& v) {
  auto bytes = ParseSize(v, kMaxUpstreamCacheBytes);
  if (!bytes.ok()) return bytes.error();
  c.upstream_cache_bytes = *bytes;
  return {};
}

Status SetUpstreamCaFile(Config& c, const std::string& v) {
  c.upstream_ca_file = v;
  return {};
}

namespace {

// Headers and query parameters for the upstream are secrets: each line of
// `v` parsed by `parse`, at most kMaxUpstreamCredentials; an error names the
// wrong one by its position (`what` N), never by its value.
template <typename T, typename Parse>
Result<std::vector<T>> ParseCredentialLines(const std::string& v, const std::string& what,
                                            Parse parse) {
  std::vector<T> out;
  for (const std::string_view line : RepeatedValues(v)) {
    Result<T> item = parse(line);
    if (!item.ok()) {
      return Error::InvalidArgument(what + " " + std::to_string(out.size() + 1) + ": " +
                                    item.error().message());
    }
    out.push_back(std::move(*item));
  }
  if (out.size() > kMaxUpstreamCredentials) {
    return Error::InvalidArgument("at most " + std::to_string(kMaxUpstreamCredentials) + " " +
                                  what + "s");
  }
  return out;
}

}  // namespace

Status SetUpstreamHeaders(Config& c, const std::string& v) {
  auto headers = ParseCredentialLines<http_client::HttpHeader>(v, "header", ParseUpstreamHeader);
  if (!headers.ok()) return headers.error();
  c.upstream_credentials.headers = std::move(*headers);
  return {};
}

Status SetUpstreamQuery(Config& c, const std::string& v) {
  auto query =
      ParseCredentialLines<std::pair<std::string, std::string>>(v, "parameter", ParseUpstreamQuery);
  if (!query.ok()) return query.error();
  c.upstream_credentials.query = std::move(*query);
  return {};
}

// The names, values hidden: what --help or any dump of the settings shows.
std::string ShowUpstreamHeaders(const Config& c) {
  std::string out;
  for (const auto& header : c.upstream_credentials.headers) {
    if (!out.empty()) out += kRepeatedValueSeparator;
    out += header.name + ": " + std::string(kHiddenValue);
  }
  return out;
}

std::string ShowUpstreamQuery(const Config& c) {
  std::string out;
  for (const auto& [name, value] : c.upstream_credentials.query) {
    if (!out.empty()) out += kRepeatedValueSeparator;
    out += name + "=" + std::string(kHiddenValue);
  }
  return out;
}

}  // namespace headcount::config_internal
