// ISO BMFF box walking (see bmff.h). Box layouts from ISO/IEC 14496-12:
// mvhd/mdhd (§8.2.2, §8.4.2), tkhd (§8.3.2), tfhd (§8.8.7), tfdt (§8.8.12).
#include "hls/bmff.h"

namespace headcount {
namespace {

constexpr std::size_t kBoxHeaderBytes = 8;
constexpr std::size_t kLargeSizeBytes = 8;
constexpr std::size_t kFullBoxHeaderBytes = 4;  // version, flags

std::uint64_t BigEndian(std::string_view bytes, std::size_t at, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<std::uint8_t>(bytes[at + i]);
  return v;
}

// The field of `width` bytes at `at` in a box's content, if it is there.
std::optional<std::uint64_t> Field(std::string_view content, std::size_t at, std::size_t width) {
  if (at + width > content.size()) return std::nullopt;
  return BigEndian(content, at, width);
}

std::uint8_t Version(std::string_view content) {
  return content.empty() ? 0 : static_cast<std::uint8_t>(content[0]);
}

// The timescale of an mvhd or mdhd: after version/flags and the creation and
// modification times (64-bit in version 1, 32-bit in version 0).
std::optional<std::uint32_t> TimescaleOf(std::string_view content) {
  const std::size_t at = kFullBoxHeaderBytes + (Version(content) == 1 ? 16 : 8);
  const std::optional<std::uint64_t> v = Field(content, at, 4);
  if (!v || *v == 0) return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}

}  // namespace

Result<std::vector<BmffBox>> ReadBoxes(std::string_view bytes) {
  std::vector<BmffBox> boxes;
  std::size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < kBoxHeaderBytes) return Error::InvalidArgument("a box header is cut");
    std::uint64_t size = BigEndian(bytes, at, 4);
    std::size_t header = kBoxHeaderBytes;
    if (size == 1) {
      if (bytes.size() - at < kBoxHeaderBytes + kLargeSizeBytes) {
        return Error::InvalidArgument("a box header is cut");
      }
      size = BigEndian(bytes, at + kBoxHeaderBytes, kLargeSizeBytes);
      header += kLargeSizeBytes;
    } else if (size == 0) {
      size = bytes.size() - at;
    }
    if (size < header || size > bytes.size() - at) {
      return Error::InvalidArgument("a box size points past the end");
    }
    const std::string_view box = bytes.substr(at, size);
    boxes.push_back(BmffBox{box.substr(4, 4), at, box, box.substr(header)});
    at += size;
  }
  return boxes;
}

MoofSearch FindFirstMoofEnd(std::string_view prefix) {
  std::size_t at = 0;
  while (prefix.size() - at >= kBoxHeaderBytes) {
    std::uint64_t size = BigEndian(prefix, at, 4);
    std::size_t header = kBoxHeaderBytes;
    if (size == 1) {
      if (prefix.size() - at < kBoxHeaderBytes + kLargeSizeBytes) return {};
      size = BigEndian(prefix, at + kBoxHeaderBytes, kLargeSizeBytes);
      header += kLargeSizeBytes;
    }
    if (size < header) return {std::nullopt, true};  // 0 runs to the end; less is broken
    if (prefix.substr(at + 4, 4) == "moof") {
      if (size > prefix.size() - at) return {};
      return {.moof_end = at + static_cast<std::size_t>(size)};
    }
    if (size > prefix.size() - at) return {};
    at += static_cast<std::size_t>(size);
  }
  return {};
}

std::optional<BmffBox> FindBox(std::string_view bytes, std::string_view type) {
  Result<std::vector<BmffBox>> boxes = ReadBoxes(bytes);
  if (!boxes.ok()) return std::nullopt;
  for (const BmffBox& box : *boxes) {
    if (box.type == type) return box;
  }
  return std::nullopt;
}

Result<Fmp4Timescales> ReadTimescales(std::string_view init_segment) {
  const std::optional<BmffBox> moov = FindBox(init_segment, "moov");
  if (!moov) return Error::InvalidArgument("no moov box in the init segment");
  Fmp4Timescales out;
  const std::optional<BmffBox> mvhd = FindBox(moov->content, "mvhd");
  const std::optional<std::uint32_t> movie = mvhd ? TimescaleOf(mvhd->content) : std::nullopt;
  if (!movie) return Error::InvalidArgument("no mvhd timescale in the init segment");
  out.movie = *movie;
  Result<std::vector<BmffBox>> children = ReadBoxes(moov->content);
  if (!children.ok()) return children.error();
  for (const BmffBox& trak : *children) {
    if (trak.type != "trak") continue;
    const std::optional<BmffBox> tkhd = FindBox(trak.content, "tkhd");
    const std::optional<BmffBox> mdia = FindBox(trak.content, "mdia");
    const std::optional<BmffBox> mdhd = mdia ? FindBox(mdia->content, "mdhd") : std::nullopt;
    if (!tkhd || !mdhd) return Error::InvalidArgument("a trak without tkhd or mdhd");
    // tkhd: version/flags, creation and modification times, then track_ID.
    const std::optional<std::uint64_t> track_id =
        Field(tkhd->content, kFullBoxHeaderBytes + (Version(tkhd->content) == 1 ? 16 : 8), 4);
    const std::optional<std::uint32_t> timescale = TimescaleOf(mdhd->content);
    if (!track_id || !timescale) return Error::InvalidArgument("a tkhd or mdhd is cut");
    out.tracks[static_cast<std::uint32_t>(*track_id)] = *timescale;
  }
  return out;
}

Result<FirstFragment> ReadFirstFragment(std::string_view media_segment) {
  Result<std::vector<BmffBox>> boxes = ReadBoxes(media_segment);
  if (!boxes.ok()) return boxes.error();
  for (const BmffBox& moof : *boxes) {
    if (moof.type != "moof") continue;
    const std::optional<BmffBox> traf = FindBox(moof.content, "traf");
    const std::optional<BmffBox> tfhd = traf ? FindBox(traf->content, "tfhd") : std::nullopt;
    const std::optional<BmffBox> tfdt = traf ? FindBox(traf->content, "tfdt") : std::nullopt;
    if (!tfhd || !tfdt) return Error::InvalidArgument("the first moof has no traf, tfhd or tfdt");
    const std::optional<std::uint64_t> track_id = Field(tfhd->content, kFullBoxHeaderBytes, 4);
    const std::optional<std::uint64_t> decode_time =
        Field(tfdt->content, kFullBoxHeaderBytes, Version(tfdt->content) == 1 ? 8 : 4);
    if (!track_id || !decode_time) return Error::InvalidArgument("a tfhd or tfdt is cut");
    return FirstFragment{moof.offset, static_cast<std::uint32_t>(*track_id), *decode_time};
  }
  return Error::InvalidArgument("no moof box in the media segment");
}

}  // namespace headcount
