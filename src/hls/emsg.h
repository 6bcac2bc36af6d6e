// Timed metadata in fMP4 media segments: an ID3 tag carried in an `emsg`
// box (ISO/IEC 23009-1 §5.10.3.3, version 1) with the scheme AOM defines for
// ID3 ("https://aomedia.org/emsg/ID3"), the form hls.js, Shaka and the
// Apple players read. Pure functions on byte strings; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "hls/bmff.h"

namespace headcount {

inline constexpr std::string_view kEmsgId3Scheme = "https://aomedia.org/emsg/ID3";
// event_duration of an event with no known end.
inline constexpr std::uint32_t kEmsgUnknownDuration = 0xFFFFFFFF;

// The fields of a version 1 emsg box.
struct EmsgV1 {
  std::uint32_t timescale = 0;          // ticks per second of the two times below
  std::uint64_t presentation_time = 0;  // on the media timeline, in `timescale`
  std::uint32_t event_duration = kEmsgUnknownDuration;
  std::uint32_t id = 0;
  std::string scheme_id_uri;
  std::string value;
  std::string message_data;
};

// The whole box: size, "emsg", version 1, flags 0, then the fields in the
// order version 1 puts them (times first, the two strings NUL-terminated).
std::string EmsgV1Box(const EmsgV1& emsg);

// `media_segment` with one emsg box (scheme kEmsgId3Scheme, empty value,
// `id3_tag` as message data, event id `id`) inserted right before its first
// moof; every other byte unchanged but the sidx sizes (below). Its clock is the first fragment's:
// the timescale of the track of the moof's first traf, from `init`, and that traf's tfdt
// baseMediaDecodeTime, so the cue fires where the segment starts. A segment index (sidx) before the
// moof is kept right: the reference that covers the moof grows by the box's size. Fails with
// kInvalidArgument when the segment has no such moof (ReadFirstFragment) or `init` does not know
// its track.
Result<std::string> InsertId3Emsg(std::string_view media_segment, const Fmp4Timescales& init,
                                  std::string_view id3_tag, std::uint32_t id);

}  // namespace headcount
