// The channels of the upstream proxy: which ones it serves (a configured
// list, or any valid name the upstream answers for), which are live (a media
// playlist of theirs, as fetched, changed within the live timeout) and the
// media playlists last fetched for each (to find a segment's init section).
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "net/url.h"

namespace headcount {

// Media playlists remembered per channel (renditions, audio): past it the
// oldest goes.
inline constexpr std::size_t kMaxUpstreamPlaylistsPerChannel = 16;

class UpstreamChannels {
 public:
  // `configured` empty: every channel the upstream answers for (at most
  // kMaxPolledChannels are tracked).
  UpstreamChannels(std::vector<std::string> configured, std::chrono::seconds live_timeout);

  // Whether requests for `channel` go to the upstream at all: a configured
  // channel, or any (valid) name when none are configured.
  bool Serves(std::string_view channel) const;

  // Whether `channel` is served and known: configured, or (with none
  // configured) one whose media playlist the upstream has answered with.
  bool Known(std::string_view channel) const;

  // Records a media playlist fetched (status 200) for `channel` at `now`:
  // `path` below the channel, `url` where it came from.
  void OnMediaPlaylist(const std::string& channel, const std::string& path, const Url& url,
                       std::shared_ptr<const std::string> body, WallTime now);

  // The channels whose media playlist changed within the live timeout of
  // `now` (a new one counts as a change), sorted.
  std::vector<std::string> Live(WallTime now) const;

  // The upstream URL of the init section (EXT-X-MAP) of the media segment at
  // `segment_path` below `channel`, from the channel's remembered media
  // playlists that list it by a relative URI; nullopt when none does.
  std::optional<Url> InitUrlFor(const std::string& channel, std::string_view segment_path) const;

 private:
  struct Playlist {
    Url url;
    std::shared_ptr<const std::string> body;
    WallTime changed;
    WallTime seen;
  };

  const std::set<std::string, std::less<>> configured_;
  const std::chrono::seconds live_timeout_;

  // Guarded by mu_: per channel, its media playlists by path.
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, Playlist>> channels_;
};

}  // namespace headcount
