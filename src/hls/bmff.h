// Reading ISO BMFF (ISO/IEC 14496-12) boxes: the top-level walk of a file
// or a box's children, and the few fields of fMP4 init and media segments
// the emsg writer needs (emsg.h). Views into the caller's bytes; pure,
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace headcount {

// One box: its four-character type, the whole box (header included) and
// its content (after the header; for a FullBox, version and flags first).
struct BmffBox {
  std::string_view type;
  std::size_t offset = 0;  // of the box in the bytes walked
  std::string_view bytes;
  std::string_view content;
};

// The boxes that make up `bytes`, in order (32-bit sizes, 64-bit
// "largesize" when the size is 1, "to the end" when it is 0). Fails with
// kInvalidArgument when a header is cut or a size points past the end.
Result<std::vector<BmffBox>> ReadBoxes(std::string_view bytes);

// The first box of `type` in `bytes` (one level), if any. A walk that
// fails finds nothing.
std::optional<BmffBox> FindBox(std::string_view bytes, std::string_view type);

// What an fMP4 init segment tells about time: the movie's timescale (mvhd)
// and each track's (mdhd), by track_ID (tkhd).
struct Fmp4Timescales {
  std::uint32_t movie = 0;
  std::map<std::uint32_t, std::uint32_t> tracks;
};

// Reads moov/mvhd and moov/trak/{tkhd, mdia/mdhd} of an init segment.
// Fails with kInvalidArgument when there is no moov or mvhd, a box is cut,
// or a timescale is 0.
Result<Fmp4Timescales> ReadTimescales(std::string_view init_segment);

// Where an fMP4 media segment's first fragment starts: the offset of its
// first top-level moof, the track_ID of that moof's first traf (tfhd) and
// its baseMediaDecodeTime (tfdt, in that track's timescale).
struct FirstFragment {
  std::size_t moof_offset = 0;
  std::uint32_t track_id = 0;
  std::uint64_t base_media_decode_time = 0;
};

// Fails with kInvalidArgument when the segment does not walk as boxes, or
// has no moof, traf, tfhd or tfdt.
Result<FirstFragment> ReadFirstFragment(std::string_view media_segment);

// For a media segment that arrives piece by piece: the end offset of its
// first top-level moof when `prefix` (its first bytes) holds that moof
// whole; nullopt while more bytes are needed, and when no moof can follow
// (a box that runs to the end, a size smaller than its header).
struct MoofSearch {
  std::optional<std::size_t> moof_end;
  bool hopeless = false;  // no moof can come, however many bytes follow
};
MoofSearch FindFirstMoofEnd(std::string_view prefix);

}  // namespace headcount
