#include "cli/config.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <optional>
#include <sstream>

#include "cli/config_settings.h"
#include "cluster/redis_url.h"
#include "core/samples.h"
#include "store/dynamo/dynamo_store.h"

namespace headcount {

// One default for store.retention, whichever store keeps the samples.
static_assert(kDefaultRetention == kDefaultDynamoRetention);

namespace {

using config_internal::AllSettings;
using config_internal::Setting;

Error Named(const Setting& s, const std::string& where, const Error& e) {
  return Error::InvalidArgument(s.spec.key + " (" + where + "): " + e.message());
}

// A TOML value as the text a setter reads: strings as they are, integers in
// decimal (so `port`-like values may be written bare), a list of strings
// joined by `list_separator`. Other types are errors.
std::optional<std::string> TomlText(const toml::node& node, char list_separator) {
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
      if (!out.empty()) out += list_separator;
      out += s->get();
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace

bool CmcdOn(const Config& config) {
  return config.cmcd.value_or(config.count == CountMode::kHeartbeats);
}

std::string_view CountModeName(CountMode mode) {
  switch (mode) {
    case CountMode::kSessions:
      return "sessions";
    case CountMode::kHeartbeats:
      return "heartbeats";
  }
  return "sessions";
}

std::string_view SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kOrigin:
      return "origin";
    case SourceKind::kIvs:
      return "ivs";
  }
  return "origin";
}

std::string_view StoreKindName(StoreKind kind) {
  switch (kind) {
    case StoreKind::kSqlite:
      return "sqlite";
    case StoreKind::kDynamoDb:
      return "dynamodb";
    case StoreKind::kPostgres:
      return "postgres";
  }
  return "sqlite";
}

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
        const auto text = TomlText(value, setting->spec.repeatable ? kRepeatedValueSeparator : ',');
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

  if (config.retention < config.tick_interval * kWindowBuckets) {
    return Error::InvalidArgument(
        "store.retention: must hold at least the 5 buckets of the window (5 x tick.interval)");
  }
  if (!config.upstream.empty() && config.hls_root_given) {
    return Error::InvalidArgument(
        "origin.hls_root and origin.upstream exclude each other: serve files from a folder "
        "(--hls-root) or from an upstream HLS server (--upstream), not both");
  }
  if (config.store == StoreKind::kPostgres && config.postgres_url.empty()) {
    return Error::InvalidArgument(
        "store.kind = postgres needs store.postgres_url (--postgres-url, HEADCOUNT_POSTGRES_URL): "
        "a "
        "postgresql://user:password@host:port/database URI");
  }
  if (!config.redis_url.empty() && config.store == StoreKind::kSqlite) {
    return Error::InvalidArgument(
        "cluster.redis needs a store the nodes share: store.kind postgres (--store postgres "
        "--postgres-url ...) or dynamodb; with SQLite each node would keep its own history");
  }
  // A CA bundle only means something to a TLS connection: with redis:// it
  // would be ignored, and the operator would believe the link verified.
  if (!config.redis_ca_file.empty()) {
    const Result<RedisEndpoint> redis = config.redis_url.empty()
                                            ? Result<RedisEndpoint>(RedisEndpoint{})
                                            : ParseRedisUrl(config.redis_url);
    if (!redis.ok() || !redis->tls) {
      return Error::InvalidArgument(
          "cluster.redis_ca_file is the CA of a TLS connection to Redis: it needs a rediss:// "
          "cluster.redis URL (--cluster rediss://host:port), not " +
          std::string(config.redis_url.empty() ? "none" : "redis:// (no TLS)"));
    }
  }
  if (config.session_key_file.empty()) {
    config.session_key_file = config.store == StoreKind::kSqlite
                                  ? std::filesystem::path(config.database.string() + ".session-key")
                                  : std::filesystem::path(kDynamoSessionKeyFile);
  }
  return config;
}

}  // namespace headcount
