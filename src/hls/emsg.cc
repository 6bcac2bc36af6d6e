// emsg boxes in fMP4 media segments (see emsg.h).
#include "hls/emsg.h"

namespace headcount {
namespace {

void PutBigEndian(std::string& out, std::uint64_t v, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
  }
}

// Patches the big-endian 32-bit value at `at` in `bytes`.
void SetU32(std::string& bytes, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (8 * (3 - i))) & 0xFF);
}

std::uint64_t GetBigEndian(std::string_view bytes, std::size_t at, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<std::uint8_t>(bytes[at + i]);
  return v;
}

// Keeps the segment index right after `added` bytes go in at `insert_at`:
// each top-level sidx before that point (ISO/IEC 14496-12 §8.16.3) indexes
// byte ranges after itself, and the reference whose range holds `insert_at`
// grows by `added` (the emsg belongs to the subsegment whose moof it
// precedes). `out` already holds the new bytes; the sidx boxes sit before
// `insert_at`, so their offsets are the same in both.
void GrowSegmentIndex(std::string& out, std::string_view segment, std::size_t insert_at,
                      std::uint32_t added) {
  Result<std::vector<BmffBox>> boxes = ReadBoxes(segment);
  if (!boxes.ok()) return;
  for (const BmffBox& box : *boxes) {
    if (box.offset >= insert_at) break;
    if (box.type != "sidx") continue;
    const std::string_view c = box.content;
    const std::size_t time_bytes = (!c.empty() && c[0] == 1) ? 8 : 4;
    // version/flags, reference_ID, timescale, earliest_presentation_time,
    // first_offset, reserved, reference_count, then 12 bytes per reference.
    const std::size_t first_offset_at = 4 + 4 + 4 + time_bytes;
    const std::size_t count_at = first_offset_at + time_bytes + 2;
    if (count_at + 2 > c.size()) continue;
    const std::size_t content_at = box.offset + (box.bytes.size() - c.size());
    std::uint64_t start =
        box.offset + box.bytes.size() + GetBigEndian(c, first_offset_at, time_bytes);
    const std::uint64_t count = GetBigEndian(c, count_at, 2);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t ref_at = count_at + 2 + 12 * i;
      if (ref_at + 12 > c.size()) break;
      const auto word = static_cast<std::uint32_t>(GetBigEndian(c, ref_at, 4));
      const std::uint32_t size = word & 0x7FFFFFFF;
      if (start <= insert_at && insert_at < start + size) {
        SetU32(out, content_at + ref_at, (word & 0x80000000) | ((size + added) & 0x7FFFFFFF));
        break;
      }
      start += size;
    }
  }
}

}  // namespace

std::string EmsgV1Box(const EmsgV1& emsg) {
  std::string body;
  body.push_back('\x01');  // version 1
  body.append(3, '\0');    // flags
  PutBigEndian(body, emsg.timescale, 4);
  PutBigEndian(body, emsg.presentation_time, 8);
  PutBigEndian(body, emsg.event_duration, 4);
  PutBigEndian(body, emsg.id, 4);
  body.append(emsg.scheme_id_uri);
  body.push_back('\0');
  body.append(emsg.value);
  body.push_back('\0');
  body.append(emsg.message_data);
  std::string box;
  box.reserve(8 + body.size());
  PutBigEndian(box, 8 + body.size(), 4);
  box.append("emsg");
  box.append(body);
  return box;
}

Result<std::string> InsertId3Emsg(std::string_view media_segment, const Fmp4Timescales& init,
                                  std::string_view id3_tag, std::uint32_t id) {
  Result<FirstFragment> fragment = ReadFirstFragment(media_segment);
  if (!fragment.ok()) return fragment.error();
  const auto track = init.tracks.find(fragment->track_id);
  if (track == init.tracks.end()) {
    return Error::InvalidArgument("the init segment has no track " +
                                  std::to_string(fragment->track_id));
  }
  const std::string box = EmsgV1Box(EmsgV1{.timescale = track->second,
                                           .presentation_time = fragment->base_media_decode_time,
                                           .event_duration = kEmsgUnknownDuration,
                                           .id = id,
                                           .scheme_id_uri = std::string(kEmsgId3Scheme),
                                           .value = "",
                                           .message_data = std::string(id3_tag)});
  std::string out;
  out.reserve(media_segment.size() + box.size());
  out.append(media_segment.substr(0, fragment->moof_offset));
  out.append(box);
  out.append(media_segment.substr(fragment->moof_offset));
  GrowSegmentIndex(out, media_segment, fragment->moof_offset,
                   static_cast<std::uint32_t>(box.size()));
  return out;
}

}  // namespace headcount
