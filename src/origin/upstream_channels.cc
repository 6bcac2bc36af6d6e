// The upstream proxy's channels (see upstream_channels.h).
#include "origin/upstream_channels.h"

#include <algorithm>

#include "core/samples.h"
#include "hls/m3u8_reader.h"
#include "origin/origin.h"

namespace headcount {

UpstreamChannels::UpstreamChannels(std::vector<std::string> configured,
                                   std::chrono::seconds live_timeout)
    : configured_(configured.begin(), configured.end()), live_timeout_(live_timeout) {}

bool UpstreamChannels::Serves(std::string_view channel) const {
  if (!IsValidChannelId(channel)) return false;
  return configured_.empty() || configured_.contains(channel);
}

bool UpstreamChannels::Known(std::string_view channel) const {
  if (!Serves(channel)) return false;
  if (!configured_.empty()) return true;
  std::lock_guard lock(mu_);
  return channels_.find(std::string(channel)) != channels_.end();
}

void UpstreamChannels::OnMediaPlaylist(const std::string& channel, const std::string& path,
                                       const Url& url, std::shared_ptr<const std::string> body,
                                       WallTime now) {
  std::lock_guard lock(mu_);
  auto channel_it = channels_.find(channel);
  if (channel_it == channels_.end()) {
    if (channels_.size() >= kMaxPolledChannels) {
      // Forget the channel heard from least recently.
      auto oldest = channels_.begin();
      WallTime oldest_seen = WallTime::max();
      for (auto it = channels_.begin(); it != channels_.end(); ++it) {
        for (const auto& [p, playlist] : it->second) {
          if (playlist.seen < oldest_seen) {
            oldest_seen = playlist.seen;
            oldest = it;
          }
        }
      }
      channels_.erase(oldest);
    }
    channel_it = channels_.emplace(channel, std::map<std::string, Playlist>{}).first;
  }
  auto& playlists = channel_it->second;
  const auto it = playlists.find(path);
  if (it != playlists.end()) {
    Playlist& p = it->second;
    if (*p.body != *body) p.changed = now;
    p.body = std::move(body);
    p.url = url;
    p.seen = now;
    return;
  }
  if (playlists.size() >= kMaxUpstreamPlaylistsPerChannel) {
    const auto oldest = std::min_element(
        playlists.begin(), playlists.end(),
        [](const auto& a, const auto& b) { return a.second.seen < b.second.seen; });
    playlists.erase(oldest);
  }
  playlists.emplace(path, Playlist{url, std::move(body), now, now});
}

std::vector<std::string> UpstreamChannels::Live(WallTime now) const {
  std::vector<std::string> live;
  std::lock_guard lock(mu_);
  for (const auto& [channel, playlists] : channels_) {
    const bool fresh = std::any_of(playlists.begin(), playlists.end(), [&](const auto& kv) {
      return now - kv.second.changed <= live_timeout_;
    });
    if (fresh) live.push_back(channel);
  }
  return live;  // sorted: the map is
}

std::optional<Url> UpstreamChannels::InitUrlFor(const std::string& channel,
                                                std::string_view segment_path) const {
  std::lock_guard lock(mu_);
  const auto channel_it = channels_.find(channel);
  if (channel_it == channels_.end()) return std::nullopt;
  for (const auto& [path, playlist] : channel_it->second) {
    // The segment's URI relative to this playlist: below the same directory.
    const std::string_view dir = std::string_view(path).substr(0, path.rfind('/') + 1);
    if (!segment_path.starts_with(dir)) continue;
    const std::optional<std::string> map_uri =
        MapUriFor(*playlist.body, segment_path.substr(dir.size()));
    if (!map_uri) continue;
    Result<Url> init = ResolveUrl(playlist.url, *map_uri);
    if (init.ok()) return std::move(*init);
  }
  return std::nullopt;
}

}  // namespace headcount
