// The settings table: parsing, checking and showing each setting. The checks
// and limits that belong to a component are that component's (IVS channel
// ARNs from core, tag limits and PutMetadata quotas from ivs, the table name
// rule from the DynamoDB store, the session limit from the origin).
#include "cli/config_settings.h"

#include <algorithm>

#include "cli/config_proxy_settings.h"
#include "cli/config_values.h"
#include "cluster/redis_url.h"
#include "core/samples.h"
#include "core/strings.h"
#include "core/time_text.h"
#include "net/url.h"
#include "store/dynamo/dynamo_items.h"
#include "store/postgres/postgres_url.h"

namespace headcount::config_internal {
namespace {

using std::chrono::seconds;

// Bounds of the duration settings.
constexpr seconds kMaxTimeout = std::chrono::hours{1};
constexpr seconds kMinRetention = std::chrono::hours{1};
constexpr seconds kMaxRetention = std::chrono::days{3660};
// Each open event stream is a connection (and up to 1 MB unsent): the
// server's own connection limit bounds them anyway.
constexpr std::size_t kMaxEventStreams = 10000;

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

std::string ShowListen(const Config& c) { return HostPort(c.listen_address, c.listen_port); }

Status SetHlsRoot(Config& c, const std::string& v) {
  if (v.empty()) return Error::InvalidArgument("must not be empty");
  c.hls_root = v;
  c.hls_root_given = true;
  return {};
}

Status SetDatabase(Config& c, const std::string& v) {
  if (v.empty()) return Error::InvalidArgument("must not be empty");
  c.database = v;
  return {};
}

Status SetMaxEventStreams(Config& c, const std::string& v) {
  const auto n = ParseWhole<unsigned long long>(v);
  if (!n || *n < 1 || *n > kMaxEventStreams) {
    return Error::InvalidArgument("\"" + v + "\" is not a number from 1 to " +
                                  std::to_string(kMaxEventStreams));
  }
  c.max_event_streams = static_cast<std::size_t>(*n);
  return {};
}

Status SetMaxSessionsPerClient(Config& c, const std::string& v) {
  // More than the origin tracks in all would be no limit at all.
  const auto n = ParseWhole<unsigned long long>(v);
  if (!n || *n > kMaxSessions) {
    return Error::InvalidArgument("\"" + v + "\" is not a number from 0 (no limit) to " +
                                  std::to_string(kMaxSessions));
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
  auto s = SecondsBetween(v, kMinTimeout, kMaxTimeout);
  if (!s.ok()) return s.error();
  c.session_idle_timeout = *s;
  return {};
}

Status SetLiveTimeout(Config& c, const std::string& v) {
  auto s = SecondsBetween(v, kMinTimeout, kMaxTimeout);
  if (!s.ok()) return s.error();
  c.live_timeout = *s;
  return {};
}

Status SetRetention(Config& c, const std::string& v) {
  auto s = SecondsBetween(v, kMinRetention, kMaxRetention);
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
        "must divide a minute (1s, 2s, 3s, 4s, 5s, 6s, 10s, 12s, 15s, 20s, 30s, 1m) or a day in "
        "whole minutes (2m, 5m, 1h, ...), got " +
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

Status SetCount(Config& c, const std::string& v) {
  for (const CountMode mode : {CountMode::kSessions, CountMode::kHeartbeats}) {
    if (v == CountModeName(mode)) {
      c.count = mode;
      return {};
    }
  }
  return Error::InvalidArgument("\"" + v + "\" is not sessions or heartbeats");
}

Status SetTrustedProxies(Config& c, const std::string& v) {
  auto proxies = TrustedProxies::Parse(v);
  if (!proxies.ok()) return proxies.error();
  c.trusted_proxies = std::move(*proxies);
  return {};
}

Status SetCorsOrigins(Config& c, const std::string& v) {
  auto cors = CorsPolicy::Parse(v);
  if (!cors.ok()) return cors.error();
  c.cors_origins = std::move(*cors);
  return {};
}

Status SetSource(Config& c, const std::string& v) {
  for (const SourceKind kind : {SourceKind::kOrigin, SourceKind::kIvs}) {
    if (v == SourceKindName(kind)) {
      c.source = kind;
      return {};
    }
  }
  return Error::InvalidArgument("\"" + v + "\" is not origin or ivs");
}

Status SetStore(Config& c, const std::string& v) {
  for (const StoreKind kind : {StoreKind::kSqlite, StoreKind::kDynamoDb, StoreKind::kPostgres}) {
    if (v == StoreKindName(kind)) {
      c.store = kind;
      return {};
    }
  }
  return Error::InvalidArgument("\"" + v + "\" is not sqlite, dynamodb or postgres");
}

// The error never repeats the value: it may hold a password.
Status SetPostgresUrl(Config& c, const std::string& v) {
  if (Status s = CheckPostgresUrl(v); !s.ok()) return s;
  c.postgres_url = v;
  return {};
}

std::string ShowPostgresUrl(const Config& c) { return RedactPostgresUrl(c.postgres_url); }

// As for the PostgreSQL URL: the error never repeats the password.
Status SetRedisUrl(Config& c, const std::string& v) {
  if (Result<RedisEndpoint> e = ParseRedisUrl(v); !e.ok()) return e.error();
  c.redis_url = v;
  return {};
}

std::string ShowRedisUrl(const Config& c) { return RedactRedisUrl(c.redis_url); }

// Read when the node first connects (RedisPool): a file that cannot be
// loaded stops `serve` at start, in its cluster check.
Status SetRedisCaFile(Config& c, const std::string& v) {
  c.redis_ca_file = v;
  return {};
}

// The longest cluster.key_prefix.
constexpr std::size_t kMaxClusterKeyPrefixBytes = 64;

Status SetClusterKeyPrefix(Config& c, const std::string& v) {
  const bool printable =
      std::all_of(v.begin(), v.end(), [](char ch) { return ch > ' ' && ch < 127; });
  if (v.empty() || v.size() > kMaxClusterKeyPrefixBytes || !printable) {
    return Error::InvalidArgument(
        "\"" + v.substr(0, kMaxClusterKeyPrefixBytes) + "\" is not a key prefix (1 to " +
        std::to_string(kMaxClusterKeyPrefixBytes) + " printable characters, no spaces)");
  }
  c.cluster_key_prefix = v;
  return {};
}

Status SetDynamoTable(Config& c, const std::string& v) {
  if (!dynamo::IsValidTableName(v)) {
    return Error::InvalidArgument(
        "\"" + v.substr(0, dynamo::kMaxTableNameBytes) + "\" is not a table name (" +
        std::to_string(dynamo::kMinTableNameBytes) + "-" +
        std::to_string(dynamo::kMaxTableNameBytes) + " of A-Z a-z 0-9 _ . -)");
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

std::string ShowIvsChannels(const Config& c) {
  std::string out;
  for (const auto& arn : c.ivs_channels) out += (out.empty() ? "" : ",") + arn;
  return out;
}

Status SetIvsChannelTag(Config& c, const std::string& v) {
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
    return Error::InvalidArgument(
        "\"" + v.substr(0, kMaxTagKeyBytes) + "\" is not key=value (a tag key of 1-" +
        std::to_string(kMaxTagKeyBytes) + " characters, a value of at most " +
        std::to_string(kMaxTagValueBytes) + ", no control characters)");
  }
  c.ivs_tag_key = key;
  c.ivs_tag_value = value;
  return {};
}

std::string ShowIvsChannelTag(const Config& c) {
  return c.ivs_tag_key.empty() ? "" : c.ivs_tag_key + "=" + c.ivs_tag_value;
}

// on/off (true/false and the other ParseBool spellings too).
Status SetSegmentMetadata(Config& c, const std::string& v) {
  auto b = ParseOnOff(v);
  if (!b.ok()) return b.error();
  c.segment_metadata = *b;
  return {};
}

Status SetCmcd(Config& c, const std::string& v) {
  auto b = ParseOnOff(v);
  if (!b.ok()) return b.error();
  c.cmcd = *b;
  return {};
}

// Empty when unset: it follows origin.count.
std::string ShowCmcd(const Config& c) {
  if (!c.cmcd) return "";
  return *c.cmcd ? "on" : "off";
}

Status SetCmcdTimeout(Config& c, const std::string& v) {
  auto s = SecondsBetween(v, kMinTimeout, kMaxTimeout);
  if (!s.ok()) return s.error();
  c.cmcd_timeout = *s;
  return {};
}

Status SetIvsIncludeOffline(Config& c, const std::string& v) {
  auto b = ParseBool(v);
  if (!b.ok()) return b.error();
  c.ivs_include_offline = *b;
  return {};
}

Status SetIvsMetadataFormat(Config& c, const std::string& v) {
  auto format = ParseMetadataFormat(v);
  if (!format.ok()) return format.error();
  c.ivs_metadata_format = *format;
  return {};
}

Status SetIvsAccountTps(Config& c, const std::string& v) {
  auto n = ParseNumber(v, 0, kMaxTps);
  if (!n.ok()) return n.error();
  c.ivs_account_tps = *n;
  return {};
}

Status SetIvsChannelTps(Config& c, const std::string& v) {
  auto n = ParseNumber(v, 0, kMaxTps);
  if (!n.ok()) return n.error();
  c.ivs_channel_tps = *n;
  return {};
}

Status SetIvsBurst(Config& c, const std::string& v) {
  auto n = ParseNumber(v, kMinBurst, kMaxTps);
  if (!n.ok()) return n.error();
  c.ivs_burst = *n;
  return {};
}

// Empty when unset: DefaultBurst of whatever ivs.account_tps is.
std::string ShowIvsBurst(const Config& c) { return c.ivs_burst ? ShowNumber(*c.ivs_burst) : ""; }

Status SetIvsConcurrency(Config& c, const std::string& v) {
  const auto n = ParseWhole<unsigned long long>(v);
  if (!n || *n < 1 || *n > kMaxPublishConcurrency) {
    return Error::InvalidArgument("\"" + v + "\" is not a whole number from 1 to " +
                                  std::to_string(kMaxPublishConcurrency));
  }
  c.ivs_publish_concurrency = static_cast<std::size_t>(*n);
  return {};
}

// A table row: the help line is `description` followed by the default, which
// is the value of a default Config as `show` writes it or, when that is
// empty, `empty_default`.
Setting Row(std::string key, std::string env, std::string flag, const std::string& description,
            Status (*set)(Config&, const std::string&), std::string (*show)(const Config&),
            const std::string& empty_default = "") {
  std::string shown = show(Config{});
  if (shown.empty()) shown = empty_default;
  return Setting{.spec = {.key = std::move(key),
                          .env = std::move(env),
                          .flag = std::move(flag),
                          .help = description + " (default " + shown + ")",
                          .default_text = shown},
                 .set = set,
                 .show = show};
}

// A setting whose flag may be given more than once (SettingSpec::repeatable).
Setting Repeatable(Setting setting) {
  setting.spec.repeatable = true;
  return setting;
}

}  // namespace

const std::vector<Setting>& AllSettings() {
  static const std::vector<Setting> kSettings = {
      Row("server.listen", "HEADCOUNT_LISTEN", "--listen", "address:port to serve HTTP on",
          SetListen, ShowListen),
      Row(
          "server.trusted_proxies", "HEADCOUNT_TRUSTED_PROXIES", "--trusted-proxies",
          "CIDRs of proxies (CDN, load balancer) whose X-Forwarded-For names the client, "
          "comma-separated",
          SetTrustedProxies, [](const Config& c) { return c.trusted_proxies.ToString(); }, "none"),
      Row(
          "server.cors_origins", "HEADCOUNT_CORS_ORIGINS", "--cors-origins",
          "page origins that may call the heartbeat API and load /static/, comma-separated, or *",
          SetCorsOrigins, [](const Config& c) { return c.cors_origins.ToString(); },
          "none (same origin only)"),
      Row("server.max_event_streams", "HEADCOUNT_MAX_EVENT_STREAMS", "--max-event-streams",
          "open /api/events streams (dashboards, players) at once; more get 503",
          SetMaxEventStreams, [](const Config& c) { return std::to_string(c.max_event_streams); }),
      Row("origin.hls_root", "HEADCOUNT_HLS_ROOT", "--hls-root",
          "folder with one sub-folder of HLS playlists and segments per channel", SetHlsRoot,
          [](const Config& c) { return c.hls_root.string(); }),
      Row("origin.count", "HEADCOUNT_COUNT", "--count",
          "sessions (ids in playlist URIs) or heartbeats (players report; cacheable playlists)",
          SetCount, [](const Config& c) { return std::string(CountModeName(c.count)); }),
      Row("origin.cmcd", "HEADCOUNT_CMCD", "--cmcd",
          "on: collect CMCD v2 event reports (CTA-5004-B) at /api/channels/{id}/cmcd; off", SetCmcd,
          ShowCmcd, "on with origin.count heartbeats, else off"),
      Row("origin.cmcd_timeout", "HEADCOUNT_CMCD_TIMEOUT", "--cmcd-timeout",
          "a CMCD sid with no report for this long has left, " + Range(kMinTimeout, kMaxTimeout),
          SetCmcdTimeout, [](const Config& c) { return FormatDuration(c.cmcd_timeout); }),
      Row(
          "origin.upstream", "HEADCOUNT_UPSTREAM", "--upstream",
          "proxy mode: the upstream HLS server's URL template, http(s) with {channel} in the "
          "path, e.g. http://127.0.0.1:8888/{channel}/; excludes origin.hls_root",
          SetUpstream, [](const Config& c) { return c.upstream; }, "none"),
      Row("origin.channels", "HEADCOUNT_CHANNELS", "--channels",
          "proxy mode: the channels served, comma-separated", SetChannels, ShowChannels,
          "any the upstream answers for"),
      Row("origin.upstream_timeout", "HEADCOUNT_UPSTREAM_TIMEOUT", "--upstream-timeout",
          "proxy mode: connect, read and total timeout of one upstream request, " +
              Range(kMinTimeout, kMaxUpstreamTimeout),
          SetUpstreamTimeout, [](const Config& c) { return FormatDuration(c.upstream_timeout); }),
      Row("origin.upstream_cache_size", "HEADCOUNT_UPSTREAM_CACHE_SIZE", "--upstream-cache-size",
          "proxy mode: memory for upstream segments, parts and init sections (LRU), e.g. 512MB",
          SetUpstreamCacheSize, [](const Config& c) { return ShowSize(c.upstream_cache_bytes); }),
      Row(
          "origin.upstream_ca_file", "HEADCOUNT_UPSTREAM_CA_FILE", "--upstream-ca-file",
          "proxy mode: PEM CA bundle that an https upstream's certificate must chain to",
          SetUpstreamCaFile, [](const Config& c) { return c.upstream_ca_file.string(); },
          "the system's CAs"),
      Repeatable(Row(
          "origin.upstream_headers", "HEADCOUNT_UPSTREAM_HEADERS", "--upstream-header",
          "proxy mode: a header sent with every upstream request, 'Name: value', e.g. "
          "'Authorization: Bearer <secret>'; repeat the flag (one per line in the environment); "
          "a secret: never logged or shown",
          SetUpstreamHeaders, ShowUpstreamHeaders, "none")),
      Repeatable(Row("origin.upstream_query", "HEADCOUNT_UPSTREAM_QUERY", "--upstream-query",
                     "proxy mode: a query parameter added to every upstream request, name=value "
                     "(percent-encoded), e.g. jwt=<token>; repeat the flag (one per line in the "
                     "environment); a secret: never logged or shown",
                     SetUpstreamQuery, ShowUpstreamQuery, "none")),
      Row("origin.session_idle_timeout", "HEADCOUNT_SESSION_IDLE_TIMEOUT", "--session-idle-timeout",
          "a viewer with no request for this long has left, " + Range(kMinTimeout, kMaxTimeout),
          SetIdleTimeout, [](const Config& c) { return FormatDuration(c.session_idle_timeout); }),
      Row("origin.live_timeout", "HEADCOUNT_LIVE_TIMEOUT", "--live-timeout",
          "a channel is live while one of its playlists changed within this, " +
              Range(kMinTimeout, kMaxTimeout),
          SetLiveTimeout, [](const Config& c) { return FormatDuration(c.live_timeout); }),
      Row("origin.max_sessions_per_client", "HEADCOUNT_MAX_SESSIONS_PER_CLIENT",
          "--max-sessions-per-client", "viewer sessions one client address may hold, 0 = no limit",
          SetMaxSessionsPerClient,
          [](const Config& c) { return std::to_string(c.max_sessions_per_client); }),
      Row("origin.segment_metadata", "HEADCOUNT_SEGMENT_METADATA", "--segment-metadata",
          "on: the payload also rides inside served segments (ID3 in .ts, emsg in .m4s); off",
          SetSegmentMetadata,
          [](const Config& c) { return std::string(c.segment_metadata ? "on" : "off"); }),
      Row(
          "origin.session_key_file", "HEADCOUNT_SESSION_KEY_FILE", "--session-key-file",
          "key signing viewer-session ids, created mode 0600 if missing", SetSessionKeyFile,
          [](const Config& c) { return c.session_key_file.string(); },
          "<database>.session-key, or " + std::string(kDynamoSessionKeyFile) +
              " with store.kind dynamodb or postgres"),
      Row("store.database", "HEADCOUNT_DATABASE", "--database", "SQLite database file", SetDatabase,
          [](const Config& c) { return c.database.string(); }),
      Row("store.retention", "HEADCOUNT_RETENTION", "--retention",
          "how long samples are kept, " + Range(kMinRetention, kMaxRetention) + " and at least " +
              std::to_string(kWindowBuckets) + " tick intervals",
          SetRetention, [](const Config& c) { return FormatDuration(c.retention); }),
      Row("tick.interval", "HEADCOUNT_TICK_INTERVAL", "--tick-interval",
          "tick period and bucket length: divides a minute, or a day in whole minutes",
          SetTickInterval, [](const Config& c) { return FormatDuration(c.tick_interval); }),
      Row("log.level", "HEADCOUNT_LOG_LEVEL", "--log-level",
          "trace, debug, info, warn, error or off", SetLogLevel,
          [](const Config& c) { return c.log_level; }),
      Row("tick.source", "HEADCOUNT_SOURCE", "--source",
          "where counts come from: origin (the built-in HLS origin) or ivs (Amazon IVS)", SetSource,
          [](const Config& c) { return std::string(SourceKindName(c.source)); }),
      Row("store.kind", "HEADCOUNT_STORE", "--store", "sqlite, dynamodb or postgres", SetStore,
          [](const Config& c) { return std::string(StoreKindName(c.store)); }),
      Row("store.postgres_url", "HEADCOUNT_POSTGRES_URL", "--postgres-url",
          "PostgreSQL URI for store.kind postgres, "
          "postgresql://user:password@host:port/database?sslmode=...",
          SetPostgresUrl, ShowPostgresUrl, "none"),
      Row("cluster.redis", "HEADCOUNT_REDIS_URL", "--cluster",
          "Redis of a cluster of serve nodes sharing one count, "
          "redis://[[user]:password@]host[:port][/db], or rediss:// for TLS (the server's "
          "certificate and host name verified); needs a shared store",
          SetRedisUrl, ShowRedisUrl, "none: this node counts alone"),
      Row(
          "cluster.redis_ca_file", "HEADCOUNT_REDIS_CA_FILE", "--cluster-ca-file",
          "PEM CA bundle that a rediss:// server's certificate must chain to", SetRedisCaFile,
          [](const Config& c) { return c.redis_ca_file.string(); }, "the system's CAs"),
      Row("cluster.key_prefix", "HEADCOUNT_CLUSTER_KEY_PREFIX", "--cluster-key-prefix",
          "prefix of the cluster's Redis keys (clusters sharing one Redis database keep apart)",
          SetClusterKeyPrefix, [](const Config& c) { return c.cluster_key_prefix; }),
      Row("dynamodb.table", "HEADCOUNT_DYNAMODB_TABLE", "--table", "DynamoDB table", SetDynamoTable,
          [](const Config& c) { return c.dynamodb_table; }),
      Row("dynamodb.create_table", "HEADCOUNT_DYNAMODB_CREATE_TABLE", "--create-table",
          "create the table if it is missing, true or false (for local development)",
          SetDynamoCreateTable, [](const Config& c) { return ShowBool(c.dynamodb_create_table); }),
      Row("ivs.channels", "HEADCOUNT_IVS_CHANNELS", "--ivs-channels",
          "IVS channel ARNs to count, comma-separated", SetIvsChannels, ShowIvsChannels,
          "every channel"),
      Row("ivs.channel_tag", "HEADCOUNT_IVS_CHANNEL_TAG", "--ivs-channel-tag",
          "count only channels with this tag, key=value (read with ListChannels)", SetIvsChannelTag,
          ShowIvsChannelTag, "none"),
      Row("ivs.include_offline", "HEADCOUNT_IVS_INCLUDE_OFFLINE", "--ivs-include-offline",
          "also record channels that are not live, with 0 viewers: true or false",
          SetIvsIncludeOffline, [](const Config& c) { return ShowBool(c.ivs_include_offline); }),
      Row("ivs.metadata_format", "HEADCOUNT_IVS_METADATA_FORMAT", "--metadata-format",
          "v1 (JSON, docs/metadata.md) or seed (\"12,10,9,9,7\", newest first)",
          SetIvsMetadataFormat,
          [](const Config& c) { return std::string(MetadataFormatName(c.ivs_metadata_format)); }),
      Row("ivs.account_tps", "HEADCOUNT_IVS_ACCOUNT_TPS", "--ivs-account-tps",
          "PutMetadata calls per second for the account, 0 = no limit", SetIvsAccountTps,
          [](const Config& c) { return ShowNumber(c.ivs_account_tps); }),
      Row("ivs.channel_tps", "HEADCOUNT_IVS_CHANNEL_TPS", "--ivs-channel-tps",
          "PutMetadata calls per second per channel, 0 = no limit", SetIvsChannelTps,
          [](const Config& c) { return ShowNumber(c.ivs_channel_tps); }),
      Row("ivs.burst", "HEADCOUNT_IVS_BURST", "--ivs-burst",
          "PutMetadata calls let through at once before pacing at ivs.account_tps, 1 to " +
              std::to_string(static_cast<long long>(kMaxTps)) + "; 1 = evenly spaced",
          SetIvsBurst, ShowIvsBurst, "0.9 × ivs.account_tps"),
      Row("ivs.publish_concurrency", "HEADCOUNT_IVS_PUBLISH_CONCURRENCY", "--ivs-concurrency",
          "PutMetadata calls in flight at once, 1 to " + std::to_string(kMaxPublishConcurrency),
          SetIvsConcurrency,
          [](const Config& c) { return std::to_string(c.ivs_publish_concurrency); }),
  };
  return kSettings;
}

}  // namespace headcount::config_internal
