// The emulator's playback side (headcount-ivs-emulator --playback-dir DIR):
// serves each channel's HLS stream, written by ffmpeg into
// DIR/<channel-id>/stream.m3u8 and its .ts segments (the layout of headcount
// serve --hls-root), at /playback/<channel-id>.m3u8, and puts every
// PutMetadata payload into the stream as IVS does: an ID3 TXXX frame in the
// next segment (id3_ts.h). Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/http.h"

namespace headcount::ivs_emulator {

inline constexpr std::string_view kPlaybackPrefix = "/playback/";
inline constexpr std::string_view kPlaybackPlaylistName = "stream.m3u8";
// Segments this far behind a channel's playlist forget their metadata.
inline constexpr std::int64_t kPlaybackMetadataKeptSegments = 64;

class Playback {
 public:
  explicit Playback(std::filesystem::path dir);
  Playback(const Playback&) = delete;
  Playback& operator=(const Playback&) = delete;

  // The playback URL of channel `id` for a client that reached the emulator
  // at `host` (the request's Host header): http://<host>/playback/<id>.m3u8.
  static std::string UrlFor(std::string_view host, std::string_view id);

  // Queues `metadata` for channel `id`: it goes into the segment after the
  // last one in the channel's playlist now (the first, if there is none yet),
  // as an ID3 TXXX frame whose value is `metadata`.
  void OnMetadata(const std::string& id, const std::string& metadata);

  // Answers GET/HEAD (and an OPTIONS preflight) under /playback/ for
  // channel `id` (ChannelIdOf the path):
  //   <id>.m3u8        DIR/<id>/stream.m3u8 with each segment URI made <id>/<uri>
  //   <id>/<name>.ts   the segment with its queued metadata injected
  // 404 when `live` is false (IVS answers 404 for an offline channel), for an
  // unknown file or a bad name; 500 when a segment is not a transport stream
  // that can carry metadata. Every answer allows any origin (CORS), as IVS's
  // playback CDN does.
  HttpResponse Handle(const HttpRequest& request, std::string_view id, bool live) const;

  // The channel id in a /playback/ path ("<id>.m3u8" or "<id>/..."), or "".
  static std::string ChannelIdOf(std::string_view path);

 private:
  const std::filesystem::path dir_;

  mutable std::mutex mu_;
  // Guarded by mu_: ID3 tags by channel id, then by media sequence number.
  std::map<std::string, std::map<std::int64_t, std::vector<std::string>>> pending_;
};

}  // namespace headcount::ivs_emulator
