// The emulator's playback routes (see playback.h). Files are read on every
// request (ffmpeg rewrites the playlist atomically with -hls_flags temp_file).
#include "ivs_emulator/playback.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "hls/id3_ts.h"

namespace headcount::ivs_emulator {
namespace {

constexpr std::string_view kPlaylistExtension = ".m3u8";
constexpr std::string_view kSegmentExtension = ".ts";
constexpr std::string_view kMediaSequenceTag = "#EXT-X-MEDIA-SEQUENCE:";
constexpr std::size_t kMaxNameLength = 128;
// The ID3 TXXX description of a PutMetadata payload: empty, the value is the payload.
constexpr std::string_view kTxxxDescription = "";
// Owner of the PRIV frame in a segment with no payload (players ignore PRIV).
constexpr std::string_view kFillerOwner = "com.headcount.ivs-emulator";

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// A plain file name: 1-128 of [A-Za-z0-9_.-], not starting with '.'.
bool IsFileName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameLength && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), [](char c) { return IsIdChar(c) || c == '.'; });
}

std::optional<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

struct MediaPlaylist {
  std::int64_t media_sequence = 0;
  std::vector<std::string> uris;  // in order: uris[k] has sequence media_sequence + k
};

MediaPlaylist ParsePlaylist(std::string_view text) {
  MediaPlaylist out;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.starts_with(kMediaSequenceTag)) {
      try {
        out.media_sequence = std::stoll(line.substr(kMediaSequenceTag.size()));
      } catch (const std::exception&) {
        out.media_sequence = 0;
      }
    } else if (!line.empty() && line.front() != '#') {
      out.uris.push_back(line);
    }
  }
  return out;
}

void AllowAnyOrigin(HttpResponse& r) {
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  r.headers.emplace_back("Cache-Control", "no-cache");
}

HttpResponse NotFound(std::string_view message) {
  HttpResponse r = HttpResponse::Error(404, message);
  AllowAnyOrigin(r);
  return r;
}

}  // namespace

Playback::Playback(std::filesystem::path dir) : dir_(std::move(dir)) {}

std::string Playback::UrlFor(std::string_view host, std::string_view id) {
  return "http://" + std::string(host) + std::string(kPlaybackPrefix) + std::string(id) +
         std::string(kPlaylistExtension);
}

std::string Playback::ChannelIdOf(std::string_view path) {
  if (!path.starts_with(kPlaybackPrefix)) return {};
  std::string_view rest = path.substr(kPlaybackPrefix.size());
  const auto slash = rest.find('/');
  std::string_view id = slash != std::string_view::npos ? rest.substr(0, slash)
                        : rest.ends_with(kPlaylistExtension)
                            ? rest.substr(0, rest.size() - kPlaylistExtension.size())
                            : std::string_view();
  if (id.empty() || id.size() > kMaxNameLength || !std::all_of(id.begin(), id.end(), IsIdChar)) {
    return {};
  }
  return std::string(id);
}

void Playback::OnMetadata(const std::string& id, const std::string& metadata) {
  const auto text = ReadFile(dir_ / id / kPlaybackPlaylistName);
  const MediaPlaylist playlist = text ? ParsePlaylist(*text) : MediaPlaylist{};
  const std::int64_t next =
      playlist.media_sequence + static_cast<std::int64_t>(playlist.uris.size());
  std::lock_guard lock(mu_);
  auto& by_sequence = pending_[id];
  by_sequence[next].push_back(Id3TxxxTag(kTxxxDescription, metadata));
  by_sequence.erase(by_sequence.begin(),
                    by_sequence.lower_bound(next - kPlaybackMetadataKeptSegments));
}

HttpResponse Playback::Handle(const HttpRequest& request, std::string_view id, bool live) const {
  if (request.method == "OPTIONS") {
    HttpResponse r = HttpResponse::Text(204, "");
    AllowAnyOrigin(r);
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD");
    return r;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = HttpResponse::Error(405, "use GET or HEAD");
    r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
    return r;
  }
  if (!live) return NotFound("channel is not broadcasting");
  const std::string id_text(id);
  const std::string_view rest =
      std::string_view(request.path).substr(kPlaybackPrefix.size() + id.size());
  const auto playlist_text = ReadFile(dir_ / id_text / kPlaybackPlaylistName);
  if (!playlist_text) return NotFound("no stream for this channel");

  if (rest == kPlaylistExtension) {
    // Segment URIs are relative to DIR/<id>/; the playlist is served one level up.
    std::istringstream lines(*playlist_text);
    std::string body;
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line.front() != '#' && IsFileName(line)) {
        body.append(id_text).append("/");
      }
      body.append(line).append("\n");
    }
    HttpResponse r;
    r.content_type = "application/vnd.apple.mpegurl";
    r.body = std::move(body);
    AllowAnyOrigin(r);
    return r;
  }
  const std::string_view name = rest.starts_with('/') ? rest.substr(1) : std::string_view();
  if (!IsFileName(name) || !name.ends_with(kSegmentExtension)) return NotFound("not found");
  const auto segment = ReadFile(dir_ / id_text / std::string(name));
  if (!segment) return NotFound("no such segment");

  // The segment's sequence number, from the playlist that lists it.
  const MediaPlaylist playlist = ParsePlaylist(*playlist_text);
  std::vector<std::string> tags;
  const auto it = std::find(playlist.uris.begin(), playlist.uris.end(), name);
  if (it != playlist.uris.end()) {
    const std::int64_t sequence = playlist.media_sequence + (it - playlist.uris.begin());
    std::lock_guard lock(mu_);
    if (const auto channel = pending_.find(id_text); channel != pending_.end()) {
      if (const auto queued = channel->second.find(sequence); queued != channel->second.end()) {
        tags = queued->second;
      }
    }
  }
  // Every segment carries ID3, so the metadata stream its PMT declares is
  // never empty: the IVS web player (1.56) does not start on segments whose
  // declared metadata stream has no data (measured: it buffers forever).
  if (tags.empty()) tags.push_back(Id3PrivTag(kFillerOwner, name));
  auto injected = InjectId3(*segment, tags);
  if (!injected.ok()) {
    HttpResponse r = HttpResponse::Error(
        500, "cannot add metadata to " + std::string(name) + ": " + injected.error().message());
    AllowAnyOrigin(r);
    return r;
  }
  HttpResponse r;
  r.content_type = "video/mp2t";
  r.body = std::move(*injected);
  AllowAnyOrigin(r);
  return r;
}

}  // namespace headcount::ivs_emulator
