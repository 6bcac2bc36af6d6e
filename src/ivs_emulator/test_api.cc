// IvsEmulator's unsigned /_emulator/ endpoints, for tests on the same machine.
// Thread-safe: state is guarded by mu_.
#include <nlohmann/json.hpp>

#include "core/time_text.h"
#include "ivs_emulator/emulator.h"
#include "ivs_emulator/wire.h"

namespace headcount::ivs_emulator {
namespace {

constexpr std::string_view kChannelsPrefix = "/_emulator/channels/";

nlohmann::json ChannelJson(const Channel& c, std::int64_t viewers) {
  nlohmann::json out = {{"id", c.id},
                        {"arn", c.arn},
                        {"name", c.name},
                        {"state", c.live ? "LIVE" : "OFFLINE"},
                        {"health", StreamHealthName(c.health)},
                        {"streamId", c.stream_id},
                        {"tags", c.tags}};
  out["viewerCount"] = c.live ? nlohmann::json(viewers) : nlohmann::json(nullptr);
  out["viewersOverride"] =
      c.viewers_override ? nlohmann::json(*c.viewers_override) : nlohmann::json(nullptr);
  return out;
}

}  // namespace

HttpResponse IvsEmulator::HandleTestApi(const HttpRequest& request) {
  if (!IsLoopbackAddress(request.client_address)) {
    return HttpResponse::Error(403, "the /_emulator/ endpoints answer loopback clients only");
  }
  const WallTime now = clock_.Now();
  const std::string& path = request.path;
  if (request.method == "GET" && path == "/_emulator/metadata") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& record : Metadata(request.Query("channelArn").value_or(""))) {
      out.push_back({{"channelArn", record.channel_arn},
                     {"metadata", record.metadata},
                     {"time", FormatRfc3339Millis(record.time)}});
    }
    return IvsJson(out);
  }
  std::lock_guard lock(mu_);
  if (request.method == "GET" && path == "/_emulator/stats") return Stats();
  if (request.method == "GET" && path == "/_emulator/channels") return ChannelsJson(now);
  if (request.method == "POST" && path == "/_emulator/reset") {
    ResetLocked(now);
    return IvsJson(nlohmann::json::object());
  }
  if (request.method == "POST" && path.substr(0, kChannelsPrefix.size()) == kChannelsPrefix) {
    return SetChannel(path.substr(kChannelsPrefix.size()), request.body, now);
  }
  return HttpResponse::Error(404, "no such emulator endpoint: " + request.method + " " + path);
}

HttpResponse IvsEmulator::Stats() const {
  nlohmann::json operations = nlohmann::json::object();
  for (const auto& [name, stats] : operation_stats_) {
    operations[name] = {{"requests", stats.requests}, {"errors", stats.errors}};
  }
  std::size_t live = 0;
  for (std::size_t i = 0; i < channels_->size(); ++i) live += channels_->at(i).live ? 1 : 0;
  return IvsJson({{"operations", std::move(operations)},
                  {"throttled", throttled_},
                  {"authFailures", auth_failures_},
                  {"metadataLogSize", metadata_log_.size()},
                  {"metadataDropped", metadata_dropped_},
                  {"channels", channels_->size()},
                  {"liveChannels", live}});
}

HttpResponse IvsEmulator::ChannelsJson(WallTime now) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < channels_->size(); ++i) {
    const Channel& c = channels_->at(i);
    out.push_back(ChannelJson(c, c.live ? channels_->Viewers(i, now) : 0));
  }
  return IvsJson(out);
}

HttpResponse IvsEmulator::SetChannel(const std::string& id, const std::string& body, WallTime now) {
  const auto index = channels_->FindById(id);
  if (!index) return HttpResponse::Error(404, "no channel with id '" + id + "'");
  const auto json = nlohmann::json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return HttpResponse::Error(400, "body must be a JSON object");
  }
  // Everything is checked before anything changes.
  std::optional<bool> live;
  if (const auto it = json.find("state"); it != json.end()) {
    if (*it != "LIVE" && *it != "OFFLINE") {
      return HttpResponse::Error(400, "state must be \"LIVE\" or \"OFFLINE\"");
    }
    live = *it == "LIVE";
  }
  std::optional<StreamHealth> health;
  if (const auto it = json.find("health"); it != json.end()) {
    if (it->is_string()) health = ParseStreamHealth(it->get<std::string>());
    if (!health) return HttpResponse::Error(400, "health must be HEALTHY, STARVING or UNKNOWN");
  }
  const auto viewers = json.find("viewers");
  if (viewers != json.end() && !viewers->is_null() &&
      (!viewers->is_number_integer() || *viewers < -1 || *viewers > kMaxViewers)) {
    return HttpResponse::Error(
        400, "viewers must be null or an integer from -1 to " + std::to_string(kMaxViewers));
  }
  std::optional<Tags> tags;
  if (const auto it = json.find("tags"); it != json.end()) {
    Tags parsed;
    bool strings = it->is_object();
    for (auto tag = it->begin(); strings && tag != it->end(); ++tag) {
      strings = tag->is_string();
      if (strings) parsed[tag.key()] = tag->get<std::string>();
    }
    if (!strings) return HttpResponse::Error(400, "tags must be an object of strings");
    if (Status valid = ValidateTags(parsed); !valid.ok()) {
      return HttpResponse::Error(400, valid.error().message());
    }
    tags = std::move(parsed);
  }
  if (live) channels_->SetLive(*index, *live, now);
  if (tags) channels_->SetTags(*index, std::move(*tags));
  if (health) channels_->SetHealth(*index, *health);
  if (viewers != json.end()) {
    channels_->SetViewersOverride(
        *index, viewers->is_null() ? std::nullopt
                                   : std::optional<std::int64_t>(viewers->get<std::int64_t>()));
  }
  const Channel& c = channels_->at(*index);
  return IvsJson(ChannelJson(c, c.live ? channels_->Viewers(*index, now) : 0));
}

}  // namespace headcount::ivs_emulator
