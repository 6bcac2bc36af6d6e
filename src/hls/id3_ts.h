// Timed metadata in MPEG-2 transport stream segments, as Amazon IVS delivers
// PutMetadata: an ID3v2.4 tag with one TXXX frame, carried in a PES packet of
// a metadata elementary stream that the PMT declares as Apple's "Timed
// Metadata for HTTP Live Streaming" describes (stream_type 0x15, stream_id
// 0xBD, metadata_pointer_descriptor + metadata_descriptor, format "ID3 ").
// Pure functions on byte strings; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace headcount {

inline constexpr std::size_t kTsPacketBytes = 188;
inline constexpr std::uint8_t kTsSyncByte = 0x47;
inline constexpr std::uint8_t kMetadataStreamType = 0x15;  // metadata in PES packets
inline constexpr std::uint8_t kPrivateStream1 = 0xBD;      // the PES stream_id Apple's spec uses
inline constexpr std::uint8_t kMetadataPointerDescriptorTag = 0x25;
inline constexpr std::uint8_t kMetadataDescriptorTag = 0x26;
// The first PID tried for the metadata stream (the next free one is used).
inline constexpr std::uint16_t kFirstMetadataPid = 0x0102;

// An ID3v2.4 tag holding one TXXX frame: UTF-8 (encoding 3), `description`,
// a NUL, then `value`. Sizes are syncsafe, as v2.4 requires.
std::string Id3TxxxTag(std::string_view description, std::string_view value);

// An ID3v2.4 tag holding one PRIV frame: `owner`, a NUL, then `data`.
std::string Id3PrivTag(std::string_view owner, std::string_view data);

// `segment` (whole 188-byte TS packets: PAT, one single-packet PMT section,
// PES streams with PTS) with a metadata stream added: every PMT gains the
// metadata descriptors and a stream_type 0x15 entry on a free PID, and each
// of `id3_tags` becomes one PES packet (stream_id 0xBD, PTS = the segment's
// earliest first PTS, so the cue fires where the segment starts) right after
// the first PMT. With no tags, only the PMT changes, so every segment of a
// stream declares the same program.
// Fails with kInvalidArgument when `segment` is not such a stream (bad size
// or sync byte, no PAT or PMT, a PMT that would not fit one packet, no PTS)
// or a tag is over 64 KB.
Result<std::string> InjectId3(std::string_view segment, const std::vector<std::string>& id3_tags);

// The most of a TS segment's head held before Id3TsStream decides.
inline constexpr std::size_t kMaxTsHeadBytes = std::size_t{1} << 20;

struct Id3Plan;

// InjectId3 for a segment that arrives piece by piece: the output comes as
// the input does, from the moment the head holds the PAT, the PMT and a
// PTS of every stream the PMT lists (or kMaxTsHeadBytes came, or the
// segment ended). Byte for byte InjectId3's of the whole segment, unless a
// stream's first PTS or a PID the PMT does not list comes only after that
// point. What InjectId3 would refuse goes out as it is, and so do bytes
// after a lost sync byte and a cut packet at the end. Not thread-safe.
class Id3TsStream {
 public:
  explicit Id3TsStream(std::vector<std::string> id3_tags);
  ~Id3TsStream();
  Id3TsStream(const Id3TsStream&) = delete;
  Id3TsStream& operator=(const Id3TsStream&) = delete;

  // The output for the next `bytes` of the segment (none while the head is held).
  std::string Feed(std::string_view bytes);
  // The segment ended: the rest of the output.
  std::string Finish();
  // From the first output on: how many bytes the output has more than the
  // input (the metadata packets), for a Content-Length.
  std::optional<std::size_t> added() const {
    return done_ ? std::optional<std::size_t>(added_) : std::nullopt;
  }

 private:
  void MakePlan(std::string_view head);

  const std::vector<std::string> tags_;
  std::string pending_;            // the head, then a cut packet
  std::unique_ptr<Id3Plan> plan_;  // null: as it is (once done_)
  bool done_ = false;              // planned, or given up
  bool injected_ = false;          // the metadata packets went out
  std::size_t added_ = 0;
};

// CRC-32/MPEG-2 (poly 0x04C11DB7, init 0xFFFFFFFF, no reflection, no final
// xor), the checksum of PSI sections.
std::uint32_t Crc32Mpeg2(std::string_view bytes);

}  // namespace headcount
