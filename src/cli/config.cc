#include "cli/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "core/samples.h"
#include "core/time_text.h"

namespace headcount {
namespace {

// The whole of `text` as a T, or nothing (empty, trailing characters, out of
// range). No leading '+' or spaces, unlike strtol.
template <typename T>
std::optional<T> ParseWhole(const std::string& text) {
  T value{};
  const char* const last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, value);
  if (text.empty() || ec != std::errc() || end != last) return std::nullopt;
  return value;
}

using std::chrono::seconds;

// Parses a raw text value into the Config; the error says why, not where.
using Setter = Status (*)(Config&, const std::string&);

Result<seconds> WholeSeconds(const std::string& text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.error();
  if (d->count() % 1000 != 0) return Error::InvalidArgument("must be whole seconds, got " + text);
  return std::chrono::duration_cast<seconds>(*d);
}

// WholeSeconds within [min, max]; the error names the range.
Result<seconds> SecondsBetween(const std::string& text, seconds min, seconds max) {
  auto s = WholeSeconds(text);
  if (!s.ok()) return s.error();
  if (*s < min || *s > max) {
    return Error::InvalidArgument("must be between " + FormatDuration(min) + " and " +
                                  FormatDuration(max) + ", got " + text);
  }
  return *s;
}

Status SetListen(Config& c, const std::string& v) {
  // host:port, [v6]:port, or :port (all interfaces of v4 is "0.0.0.0:port").
  const auto colon = v.rfind(':');
  if (colon == std::string::npos) return Error::InvalidArgument("\"" + v + "\" is not host:port");
  std::string host = v.substr(0, colon);
  const std::string port = v.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  const auto p = ParseWhole<long>(port);
  if (!p || *p < 0 || *p > 65535) {
    return Error::InvalidArgument("port \"" + port + "\" is not a number from 0 to 65535");
  }
  c.listen_address = host;
  c.listen_port = static_cast<std::uint16_t>(*p);
  return {};
}

Status SetHlsRoot(Config& c, const std::string& v) {
  if (v.empty()) return Error::InvalidArgument("must not be empty");
  c.hls_root = v;
  return {};
}

Status SetDatabase(Config& c, const std::string& v) {
  if (v.empty()) return Error::InvalidArgument("must not be empty");
  c.database = v;
  return {};
}

Status SetMaxSessionsPerClient(Config& c, const std::string& v) {
  const auto n = ParseWhole<long long>(v);
  if (!n || *n < 0 || *n > 10'000'000) {
    return Error::InvalidArgument("\"" + v + "\" is not a number from 0 (no limit) to 10000000");
  }
  c.max_sessions_per_client = static_cast<std::size_t>(*n);
  return {};
}

Status SetSessionKeyFile(Config& c, const std::string& v) {
  if (v.empty()) return Error::InvalidArgument("must not be empty");
  c.session_key_file = v;
  return {};
}

Status SetIdleTimeout(Config& c, const std::string& v) {
  auto s = SecondsBetween(v, seconds{1}, std::chrono::hours{1});
  if (!s.ok()) return s.error();
  c.session_idle_timeout = *s;
  return {};
}

Status SetLiveTimeout(Config& c, const std::string& v) {
  auto s = SecondsBetween(v, seconds{1}, std::chrono::hours{1});
  if (!s.ok()) return s.error();
  c.live_timeout = *s;
  return {};
}

Status SetRetention(Config& c, const std::string& v) {
  auto s = SecondsBetween(v, std::chrono::hours{1}, std::chrono::hours{24 * 3660});
  if (!s.ok()) return s.error();
  c.retention = *s;
  return {};
}

Status SetTickInterval(Config& c, const std::string& v) {
  auto s = WholeSeconds(v);
  if (!s.ok()) return s.error();
  const auto n = s->count();
  // Buckets align to the epoch: an interval must tile a minute (1s..60s) or a
  // day (whole minutes), so every tick lands on :00.
  const bool tiles_minute = n >= 1 && n <= 60 && 60 % n == 0;
  const bool tiles_day = n > 60 && n % 60 == 0 && 86400 % n == 0;
  if (!tiles_minute && !tiles_day) {
    return Error::InvalidArgument(
        "must divide a minute (1s, 2s, 5s, 10s, 15s, 30s, 1m) or a day in whole minutes (5m, "
        "1h, ...), got " +
        v);
  }
  c.tick_interval = *s;
  return {};
}

Status SetLogLevel(Config& c, const std::string& v) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    if (v == level) {
      c.log_level = v;
      return {};
    }
  }
  return Error::InvalidArgument("\"" + v + "\" is not one of trace, debug, info, warn, error, off");
}

Status SetSource(Config& c, const std::string& v) {
  if (v != "origin" && v != "ivs") {
    return Error::InvalidArgument("\"" + v + "\" is not origin or ivs");
  }
  c.source = v;
  return {};
}

Status SetStore(Config& c, const std::string& v) {
  if (v != "sqlite" && v != "dynamodb") {
    return Error::InvalidArgument("\"" + v + "\" is not sqlite or dynamodb");
  }
  c.store = v;
  return {};
}

Result<bool> ParseBool(const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return Error::InvalidArgument("\"" + v + "\" is not true or false");
}

Result<double> ParseNumber(const std::string& v, double min, double max) {
  const auto n = ParseWhole<double>(v);
  if (!n || !(*n >= min && *n <= max)) {
    return Error::InvalidArgument("\"" + v + "\" is not a number from " + std::to_string(int(min)) +
                                  " to " + std::to_string(int(max)));
  }
  return *n;
}

Status SetDynamoTable(Config& c, const std::string& v) {
  // DynamoDB's rule: 3 to 255 of [A-Za-z0-9_.-].
  const bool ok = v.size() >= 3 && v.size() <= 255 &&
                  v.find_first_not_of(
                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789_.-") == std::string::npos;
  if (!ok) {
    return Error::InvalidArgument("\"" + v + "\" is not a table name (3-255 of A-Z a-z 0-9 _ . -)");
  }
  c.dynamodb_table = v;
  return {};
}

Status SetDynamoCreateTable(Config& c, const std::string& v) {
  auto b = ParseBool(v);
  if (!b.ok()) return b.error();
  c.dynamodb_create_table = *b;
  return {};
}

Status SetIvsChannels(Config& c, const std::string& v) {
  c.ivs_channels.clear();
  std::size_t start = 0;
  while (start <= v.size()) {
    const std::size_t comma = std::min(v.find(',', start), v.size());
    std::string arn = v.substr(start, comma - start);
    while (!arn.empty() && arn.front() == ' ') arn.erase(0, 1);
    while (!arn.empty() && arn.back() == ' ') arn.pop_back();
    if (!arn.empty()) {
      if (!IsIvsChannelArn(arn)) {
        return Error::InvalidArgument(
            "\"" + arn.substr(0, kMaxChannelArnBytes) +
            "\" is not an IVS channel ARN "
            "(arn:<aws|aws-cn|aws-us-gov>:ivs:<region>:<account>:channel/<id>)");
      }
      c.ivs_channels.push_back(arn);
    }
    start = comma + 1;
  }
  return {};
}

Status SetIvsChannelTag(Config& c, const std::string& v) {
  // AWS tags: a key of 1-128 characters, a value of 0-256.
  constexpr std::size_t kMaxTagKeyBytes = 128;
  constexpr std::size_t kMaxTagValueBytes = 256;
  if (v.empty()) {  // no filter
    c.ivs_tag_key.clear();
    c.ivs_tag_value.clear();
    return {};
  }
  const std::size_t eq = v.find('=');
  const std::string key = v.substr(0, eq);
  const std::string value = eq == std::string::npos ? "" : v.substr(eq + 1);
  const bool control = std::any_of(v.begin(), v.end(), [](char ch) {
    return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
  });
  if (eq == std::string::npos || key.empty() || key.size() > kMaxTagKeyBytes ||
      value.size() > kMaxTagValueBytes || control) {
    return Error::InvalidArgument("\"" + v.substr(0, 128) +
                                  "\" is not key=value (a tag key of 1-128 characters, a value "
                                  "of at most 256, no control characters)");
  }
  c.ivs_tag_key = key;
  c.ivs_tag_value = value;
  return {};
}

Status SetIvsIncludeOffline(Config& c, const std::string& v) {
  auto b = ParseBool(v);
  if (!b.ok()) return b.error();
  c.ivs_include_offline = *b;
  return {};
}

Status SetIvsMetadataFormat(Config& c, const std::string& v) {
  if (v != "v1" && v != "seed") return Error::InvalidArgument("\"" + v + "\" is not v1 or seed");
  c.ivs_metadata_format = v;
  return {};
}

Status SetIvsAccountTps(Config& c, const std::string& v) {
  auto n = ParseNumber(v, 0, 100000);
  if (!n.ok()) return n.error();
  c.ivs_account_tps = *n;
  return {};
}

Status SetIvsChannelTps(Config& c, const std::string& v) {
  auto n = ParseNumber(v, 0, 1000);
  if (!n.ok()) return n.error();
  c.ivs_channel_tps = *n;
  return {};
}

Status SetIvsConcurrency(Config& c, const std::string& v) {
  auto n = ParseNumber(v, 1, 256);
  if (!n.ok()) return n.error();
  if (*n != int(*n)) return Error::InvalidArgument("\"" + v + "\" is not a whole number");
  c.ivs_publish_concurrency = int(*n);
  return {};
}

struct Setting {
  SettingSpec spec;
  Setter set;
};

const std::vector<Setting>& AllSettings() {
  static const std::vector<Setting> kSettings = {
      {{"server.listen", "HEADCOUNT_LISTEN", "--listen",
        "address:port to serve HTTP on (default 127.0.0.1:8080)"},
       SetListen},
      {{"origin.hls_root", "HEADCOUNT_HLS_ROOT", "--hls-root",
        "folder with one sub-folder of HLS playlists and segments per channel (default ./hls)"},
       SetHlsRoot},
      {{"origin.session_idle_timeout", "HEADCOUNT_SESSION_IDLE_TIMEOUT", "--session-idle-timeout",
        "a viewer with no request for this long has left (default 30s)"},
       SetIdleTimeout},
      {{"origin.live_timeout", "HEADCOUNT_LIVE_TIMEOUT", "--live-timeout",
        "a channel is live while one of its playlists changed within this (default 30s)"},
       SetLiveTimeout},
      {{"origin.max_sessions_per_client", "HEADCOUNT_MAX_SESSIONS_PER_CLIENT",
        "--max-sessions-per-client",
        "viewer sessions one client address may hold, 0 = no limit (default 1000)"},
       SetMaxSessionsPerClient},
      {{"origin.session_key_file", "HEADCOUNT_SESSION_KEY_FILE", "--session-key-file",
        "key signing viewer-session ids, created mode 0600 if missing (default "
        "<database>.session-key)"},
       SetSessionKeyFile},
      {{"store.database", "HEADCOUNT_DATABASE", "--database",
        "SQLite database file (default ./headcount.db)"},
       SetDatabase},
      {{"store.retention", "HEADCOUNT_RETENTION", "--retention",
        "how long samples are kept (default 30d)"},
       SetRetention},
      {{"tick.interval", "HEADCOUNT_TICK_INTERVAL", "--tick-interval",
        "tick period and bucket length (default 1m; e.g. 5s for demos)"},
       SetTickInterval},
      {{"log.level", "HEADCOUNT_LOG_LEVEL", "--log-level",
        "trace, debug, info, warn, error or off (default info)"},
       SetLogLevel},
      {{"tick.source", "HEADCOUNT_SOURCE", "--source",
        "where counts come from: origin (the built-in HLS origin) or ivs (Amazon IVS) "
        "(default origin)"},
       SetSource},
      {{"store.kind", "HEADCOUNT_STORE", "--store", "sqlite or dynamodb (default sqlite)"},
       SetStore},
      {{"dynamodb.table", "HEADCOUNT_DYNAMODB_TABLE", "--table",
        "DynamoDB table (default headcount)"},
       SetDynamoTable},
      {{"dynamodb.create_table", "HEADCOUNT_DYNAMODB_CREATE_TABLE", "--create-table",
        "create the table if it is missing: true or false (default false; for local "
        "development)"},
       SetDynamoCreateTable},
      {{"ivs.channels", "HEADCOUNT_IVS_CHANNELS", "--ivs-channels",
        "channel ARNs to count, comma-separated (default: every channel of the account)"},
       SetIvsChannels},
      {{"ivs.channel_tag", "HEADCOUNT_IVS_CHANNEL_TAG", "--ivs-channel-tag",
        "count only channels with this tag, key=value (ListChannels; default: no tag filter)"},
       SetIvsChannelTag},
      {{"ivs.include_offline", "HEADCOUNT_IVS_INCLUDE_OFFLINE", "--ivs-include-offline",
        "also record channels that are not live, with 0 viewers: true or false (default false)"},
       SetIvsIncludeOffline},
      {{"ivs.metadata_format", "HEADCOUNT_IVS_METADATA_FORMAT", "--metadata-format",
        "v1 (JSON, docs/metadata.md) or seed (\"12,10,9,9,7\", newest first) (default v1)"},
       SetIvsMetadataFormat},
      {{"ivs.account_tps", "HEADCOUNT_IVS_ACCOUNT_TPS", "--ivs-account-tps",
        "PutMetadata calls per second for the account, 0 = no limit (default 155)"},
       SetIvsAccountTps},
      {{"ivs.channel_tps", "HEADCOUNT_IVS_CHANNEL_TPS", "--ivs-channel-tps",
        "PutMetadata calls per second per channel, 0 = no limit (default 5)"},
       SetIvsChannelTps},
      {{"ivs.publish_concurrency", "HEADCOUNT_IVS_PUBLISH_CONCURRENCY", "--ivs-concurrency",
        "PutMetadata calls in flight at once, 1-256 (default 16)"},
       SetIvsConcurrency},
  };
  return kSettings;
}

Error Named(const Setting& s, const std::string& where, const Error& e) {
  return Error::InvalidArgument(s.spec.key + " (" + where + "): " + e.message());
}

// A TOML value as the text a setter reads: strings as they are, integers in
// decimal (so `port`-like values may be written bare). Other types are errors.
std::optional<std::string> TomlText(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) return std::to_string(f->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* a = node.as_array()) {
    // A list of strings, read as the comma-separated form.
    std::string out;
    for (const auto& item : *a) {
      const auto* s = item.as_string();
      if (s == nullptr) return std::nullopt;
      if (!out.empty()) out += ',';
      out += s->get();
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace

const std::vector<SettingSpec>& Settings() {
  static const std::vector<SettingSpec> kSpecs = [] {
    std::vector<SettingSpec> out;
    for (const auto& s : AllSettings()) out.push_back(s.spec);
    return out;
  }();
  return kSpecs;
}

std::optional<std::string> RealGetenv(const std::string& name) {
  const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read at start-up
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

Result<Config> LoadConfig(const ConfigSource& source) {
  Config config;

  if (source.file) {
    const std::string where = "file " + source.file->string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*source.file, ec)) {
      return Error::InvalidArgument("config file " + source.file->string() +
                                    " does not exist or is not a file");
    }
    toml::table table;
    try {
      table = toml::parse_file(source.file->string());
    } catch (const toml::parse_error& e) {
      std::ostringstream msg;
      msg << "config file " << source.file->string() << " line " << e.source().begin.line << ": "
          << e.description();
      return Error::InvalidArgument(msg.str());
    }
    // Unknown sections and keys are typos until proven otherwise.
    for (const auto& [section, node] : table) {
      const auto* inner = node.as_table();
      if (inner == nullptr) {
        return Error::InvalidArgument(std::string(section.str()) + " (" + where +
                                      "): expected a [section] of settings");
      }
      for (const auto& [name, value] : *inner) {
        const std::string key = std::string(section.str()) + "." + std::string(name.str());
        const Setting* setting = nullptr;
        for (const auto& s : AllSettings()) {
          if (s.spec.key == key) setting = &s;
        }
        if (setting == nullptr) {
          return Error::InvalidArgument(key + " (" + where + "): unknown setting");
        }
        const auto text = TomlText(value);
        if (!text) {
          return Error::InvalidArgument(key + " (" + where +
                                        "): must be a string, number, boolean or list of strings");
        }
        if (Status st = setting->set(config, *text); !st.ok()) {
          return Named(*setting, where, st.error());
        }
      }
    }
  }

  for (const auto& s : AllSettings()) {
    const auto value = source.getenv ? source.getenv(s.spec.env) : std::nullopt;
    if (!value) continue;
    if (Status st = s.set(config, *value); !st.ok()) {
      return Named(s, "env " + s.spec.env, st.error());
    }
  }

  for (const auto& s : AllSettings()) {
    const auto it = source.flags.find(s.spec.key);
    if (it == source.flags.end()) continue;
    if (Status st = s.set(config, it->second); !st.ok()) {
      return Named(s, "flag " + s.spec.flag, st.error());
    }
  }

  if (config.retention < config.tick_interval * 5) {
    return Error::InvalidArgument(
        "store.retention: must hold at least the 5 buckets of the window (5 x tick.interval)");
  }
  return config;
}

}  // namespace headcount
