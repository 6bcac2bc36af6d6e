// headcount's configuration: one plain struct with documented defaults, filled
// from a TOML file, then HEADCOUNT_* environment variables, then flags (each
// overriding the one before). Loading is pure apart from reading the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "heartbeat/heartbeat_viewers.h"
#include "ivs/ivs_options.h"
#include "net/trusted_proxies.h"
#include "origin/origin.h"
#include "origin/upstream_session.h"
#include "server/cors.h"
#include "store/sqlite/pruner.h"

namespace headcount {

// [tick] source: where viewer counts come from.
enum class SourceKind {
  kOrigin,  // "origin": the built-in HLS origin of `serve` counts its sessions
  kIvs,     // "ivs": Amazon IVS ListStreams (and PutMetadata to publish)
};
// [store] kind: where samples are kept.
enum class StoreKind {
  kSqlite,    // "sqlite": the database file
  kDynamoDb,  // "dynamodb": a DynamoDB table
  kPostgres,  // "postgres": a PostgreSQL database (store.postgres_url)
};
// [origin] count: how the built-in origin's viewers are counted.
enum class CountMode {
  kSessions,    // "sessions": signed session ids in playlist URIs (and heartbeats)
  kHeartbeats,  // "heartbeats": player heartbeats; playlists cacheable by a CDN
};
// The names the settings use: "origin", "ivs"; "sqlite", "dynamodb",
// "postgres"; "sessions", "heartbeats".
std::string_view SourceKindName(SourceKind kind);
std::string_view StoreKindName(StoreKind kind);
std::string_view CountModeName(CountMode mode);

// Where the session key lives when origin.session_key_file is not set and
// store.kind is dynamodb or postgres (there is no database file to put it
// beside).
inline constexpr std::string_view kDynamoSessionKeyFile = "headcount.session-key";

// Defaults that belong to the module they configure are that module's
// constants (origin, ivs, the SQLite pruner); the others are set here.
struct Config {
  // [server] listen: where `serve` accepts HTTP (origin, API, pages).
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  // [server] trusted_proxies: CIDRs of the proxies (CDN, load balancer)
  // whose X-Forwarded-For names the client; none by default.
  TrustedProxies trusted_proxies;
  // [server] cors_origins: page origins that may call the heartbeat API and
  // load /static/ (or "*"); same origin only by default.
  CorsPolicy cors_origins;
  // [server] max_event_streams: open /api/events streams at once; past it, 503.
  std::size_t max_event_streams = 1000;
  // [origin] hls_root: one sub-folder per channel, as ffmpeg's HLS muxer writes it.
  std::filesystem::path hls_root = "hls";
  bool hls_root_given = false;  // set explicitly (it excludes origin.upstream)
  // [origin] count: sessions (ids in playlist URIs) or heartbeats (players
  // report; playlists and segments cacheable, the same for every viewer).
  CountMode count = CountMode::kSessions;
  // [origin] cmcd: whether `serve` collects CMCD v2 event reports at
  // /api/channels/{id}/cmcd; unset: on with count = heartbeats (CmcdOn).
  std::optional<bool> cmcd;
  // [origin] cmcd_timeout: a CMCD sid with no report for this long has left.
  std::chrono::seconds cmcd_timeout = kDefaultCmcdTimeout;
  // [origin] upstream: proxy mode, the URL template of the upstream HLS
  // server (origin/upstream_template.h); empty = serve hls_root.
  std::string upstream;
  // [origin] channels: the channels proxy mode serves; empty = any the
  // upstream answers for.
  std::vector<std::string> channels;
  // [origin] upstream_timeout, upstream_cache_size, upstream_ca_file: the
  // proxy's timeout per upstream request, media cache bound and CA bundle
  // for https upstreams (empty = the system's).
  std::chrono::seconds upstream_timeout =
      std::chrono::duration_cast<std::chrono::seconds>(kDefaultUpstreamTimeout);
  std::size_t upstream_cache_bytes = kDefaultUpstreamCacheBytes;
  std::filesystem::path upstream_ca_file;
  // [origin] upstream_headers ("Name: value"), upstream_query ("name=value"):
  // sent with every upstream request. Secrets: shown with their values
  // hidden, never logged, never in an error message.
  UpstreamCredentials upstream_credentials;
  // [origin] session_idle_timeout: a viewer who made no request for this long has left.
  std::chrono::seconds session_idle_timeout = kDefaultSessionIdleTimeout;
  // [origin] live_timeout: a channel is live while a playlist of it changed this recently.
  std::chrono::seconds live_timeout = kDefaultLiveTimeout;
  // [origin] max_sessions_per_client: sessions one client address may hold
  // (0 = no limit); generous, since many viewers may share an address.
  std::size_t max_sessions_per_client = kDefaultMaxSessionsPerClient;
  // [origin] segment_metadata: the payload also rides inside the media
  // segments served (ID3 in .ts, emsg in .m4s).
  bool segment_metadata = OriginOptions{}.segment_metadata;
  // [origin] session_key_file: the key that signs viewer-session ids (created
  // on first start, mode 0600). LoadConfig fills it in when it is not set:
  // "<database>.session-key" with the SQLite store, kDynamoSessionKeyFile
  // with DynamoDB or PostgreSQL.
  std::filesystem::path session_key_file;
  // [store] database: the SQLite file (created on first start).
  std::filesystem::path database = "headcount.db";
  // [store] postgres: the libpq connection URI of store.kind postgres
  // (postgresql://user:password@host:port/db?sslmode=...); may hold a
  // password, so it is only ever shown redacted (RedactPostgresUrl).
  std::string postgres_url;
  // [cluster] redis: the Redis URL of a cluster of `serve` nodes sharing one
  // count (redis://[[user]:password@]host[:port][/db], rediss:// for TLS);
  // empty = this node counts alone. May hold a password: only ever shown
  // redacted (RedactRedisUrl).
  std::string redis_url;
  // [cluster] redis_ca_file: the PEM CA bundle a rediss:// server's
  // certificate must chain to; empty = the system's CAs.
  std::filesystem::path redis_ca_file;
  // [cluster] key_prefix: prepended to every Redis key of the cluster.
  std::string cluster_key_prefix = "headcount:";
  // [store] retention: samples older than this are pruned (SQLite,
  // PostgreSQL) or expire (DynamoDB TTL); every store defaults to the same.
  std::chrono::seconds retention = kDefaultRetention;
  // [tick] interval: the tick period and bucket length (1m in production).
  std::chrono::seconds tick_interval{60};
  // [log] level: trace, debug, info, warn, error or off.
  std::string log_level = "info";

  // [tick] source, [store] kind.
  SourceKind source = SourceKind::kOrigin;
  StoreKind store = StoreKind::kSqlite;
  // [dynamodb] table, and whether `tick` creates it when missing (for local
  // development against dynalite or Alternator; the CDK app creates it on AWS).
  std::string dynamodb_table = "headcount";
  bool dynamodb_create_table = false;
  // [ivs] channels (ARNs; empty = every channel of the account), offline
  // channels reported with 0 viewers, metadata format, and PutMetadata
  // quotas (per second, 0 = none) and concurrency.
  std::vector<std::string> ivs_channels;
  // [ivs] channel_tag "key=value": count only channels carrying this tag
  // (ListChannels); empty key = no tag filter. With ivs.channels, a channel
  // must match both.
  std::string ivs_tag_key;
  std::string ivs_tag_value;
  bool ivs_include_offline = false;
  MetadataFormat ivs_metadata_format = MetadataFormat::kV1;
  double ivs_account_tps = kDefaultAccountTps;
  double ivs_channel_tps = kDefaultChannelTps;
  // [ivs] burst: PutMetadata calls let through at once (the account
  // bucket's capacity); unset = DefaultBurst(ivs_account_tps), nine tenths
  // of one second's quota.
  std::optional<double> ivs_burst;
  std::size_t ivs_publish_concurrency = kDefaultPublishConcurrency;
};

// One setting that can come from a file key, an environment variable or a flag.
struct SettingSpec {
  std::string key;           // TOML key, "section.name"
  std::string env;           // HEADCOUNT_...
  std::string flag;          // --name
  std::string help;          // one line for --help, ending "(default <default_text>)"
  std::string default_text;  // the default as README.md's table shows it
  // The flag may be given more than once; its values, the environment
  // variable's lines and a TOML list's items reach the setter joined by
  // newlines (kRepeatedValueSeparator).
  bool repeatable = false;
};

inline constexpr char kRepeatedValueSeparator = '\n';

// Every setting Config has, in a stable order (for --help and docs).
const std::vector<SettingSpec>& Settings();

// Where a setting's raw value came from, for error messages.
struct ConfigSource {
  std::optional<std::filesystem::path> file;  // --config / HEADCOUNT_CONFIG
  std::map<std::string, std::string> flags;   // key -> value, given flags only
  std::function<std::optional<std::string>(const std::string&)> getenv;  // injectable
};

// Whether `serve` collects CMCD reports: origin.cmcd when set, else whether
// viewers are counted from heartbeats.
bool CmcdOn(const Config& config);

// Builds the Config: defaults, then the file (if any), then the environment,
// then the flags. On failure the error message names the key and where it came
// from, e.g. `tick.interval (env HEADCOUNT_TICK_INTERVAL): "5x" is not a
// duration like 5s, 1m, 2h or 30d (unknown unit)`. Unknown file keys are errors.
Result<Config> LoadConfig(const ConfigSource& source);

// The real environment, for ConfigSource::getenv.
std::optional<std::string> RealGetenv(const std::string& name);

}  // namespace headcount
