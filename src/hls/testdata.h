// Playlists for the origin's tests, as ffmpeg 5.1's HLS muxer writes them.
// Constants only.
#pragma once

#include <string_view>

namespace headcount::testdata {

// ffmpeg -f lavfi -i testsrc=... -f lavfi -i sine=... -c:v libx264 -c:a aac -f hls
//   -hls_time 1 -hls_list_size 4
//   -hls_flags delete_segments+program_date_time+independent_segments+temp_file+omit_endlist
//   -hls_segment_filename 'seg_%05d.ts' stream.m3u8
inline constexpr std::string_view kFfmpegTsPlaylist =
    "#EXTM3U\n"
    "#EXT-X-VERSION:6\n"
    "#EXT-X-TARGETDURATION:1\n"
    "#EXT-X-MEDIA-SEQUENCE:1\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXTINF:1.000000,\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:25:31.006+0000\n"
    "seg_00001.ts\n"
    "#EXTINF:1.000000,\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:25:32.006+0000\n"
    "seg_00002.ts\n"
    "#EXTINF:1.000000,\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:25:33.006+0000\n"
    "seg_00003.ts\n"
    "#EXTINF:1.000000,\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:25:34.006+0000\n"
    "seg_00004.ts\n";

// The same with -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4.
inline constexpr std::string_view kFfmpegFmp4Playlist =
    "#EXTM3U\n"
    "#EXT-X-VERSION:7\n"
    "#EXT-X-TARGETDURATION:1\n"
    "#EXT-X-MEDIA-SEQUENCE:0\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXT-X-MAP:URI=\"init.mp4\"\n"
    "#EXTINF:1.000000,\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:29:48.540+0000\n"
    "stream0.m4s\n"
    "#EXTINF:1.000000,\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:29:49.540+0000\n"
    "stream1.m4s\n"
    "#EXTINF:1.000000,\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:29:50.540+0000\n"
    "stream2.m4s\n"
    "#EXT-X-ENDLIST\n";

// A multivariant playlist with alternative audio, an I-frame playlist, a URI
// that already has a query and one on another host.
inline constexpr std::string_view kMultivariantPlaylist =
    "#EXTM3U\n"
    "#EXT-X-VERSION:6\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en,URI=no\",DEFAULT=YES,URI=\"audio.m3u8\"\n"
    "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"cdn\",URI=\"https://cdn.example/a.m3u8\"\n"
    "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,URI=\"iframes.m3u8\"\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=1280000,RESOLUTION=640x360,AUDIO=\"aud\"\n"
    "low.m3u8\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=2560000,RESOLUTION=1280x720,AUDIO=\"aud\"\n"
    "high.m3u8?q=1\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=5000000\n"
    "https://cdn.example/hd.m3u8\n";

}  // namespace headcount::testdata
