// ID3 timed metadata injected into MPEG-2 TS segments (see id3_ts.h). The
// layout follows ISO/IEC 13818-1 (packets, PSI, PES) and Apple's "Timed
// Metadata for HTTP Live Streaming" (the descriptors and the ID3 stream).
#include "hls/id3_ts.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <utility>

namespace headcount {
namespace {

constexpr std::size_t kTsHeaderBytes = 4;
constexpr std::size_t kTsPayloadBytes = kTsPacketBytes - kTsHeaderBytes;
constexpr std::uint16_t kPatPid = 0x0000;
constexpr std::uint16_t kNullPid = 0x1FFF;
constexpr std::uint8_t kPmtTableId = 0x02;
constexpr std::size_t kMaxPesPayload = 0xFFFF - 8;  // PES_packet_length minus the PTS header
constexpr std::size_t kMaxSyncsafe = (1u << 28) - 1;
constexpr std::size_t kId3HeaderBytes = 10;

// metadata_application_format 0xFFFF ("see identifier"), "ID3 ", metadata_format
// 0xFF ("see identifier"), "ID3 ", metadata_service_id 0.
constexpr std::string_view kId3FormatFields =
    "\xFF\xFF"
    "ID3 "
    "\xFF"
    "ID3 "
    "\x00";

std::uint16_t PidOf(std::string_view packet) {
  return static_cast<std::uint16_t>(((static_cast<std::uint8_t>(packet[1]) & 0x1F) << 8) |
                                    static_cast<std::uint8_t>(packet[2]));
}
bool StartsUnit(std::string_view packet) {
  return (static_cast<std::uint8_t>(packet[1]) & 0x40) != 0;
}

// Offset of the payload in `packet`, or nullopt when it has none.
std::optional<std::size_t> PayloadOffset(std::string_view packet) {
  const auto control = (static_cast<std::uint8_t>(packet[3]) >> 4) & 0x3;
  if ((control & 0x1) == 0) return std::nullopt;
  std::size_t offset = kTsHeaderBytes;
  if (control & 0x2) offset += 1 + static_cast<std::uint8_t>(packet[4]);
  if (offset >= kTsPacketBytes) return std::nullopt;
  return offset;
}

std::size_t U16(std::string_view s, std::size_t at) {
  return (static_cast<std::uint8_t>(s[at]) << 8) | static_cast<std::uint8_t>(s[at + 1]);
}

void PutSyncsafe(std::string& out, std::size_t v) {
  for (int shift = 21; shift >= 0; shift -= 7) {
    out.push_back(static_cast<char>((v >> shift) & 0x7F));
  }
}

// The PSI section that starts in `packet` (after the pointer field), bounded
// by section_length, or nullopt when it does not fit in the packet.
std::optional<std::string_view> SectionIn(std::string_view packet) {
  const auto offset = PayloadOffset(packet);
  if (!offset || !StartsUnit(packet)) return std::nullopt;
  const std::size_t start = *offset + 1 + static_cast<std::uint8_t>(packet[*offset]);
  if (start + 3 > kTsPacketBytes) return std::nullopt;
  const std::size_t length = 3 + (U16(packet, start + 1) & 0x0FFF);
  if (start + length > kTsPacketBytes || length < 12 + 4) return std::nullopt;
  return packet.substr(start, length);
}

struct Program {
  std::uint16_t pmt_pid = 0;
  std::uint16_t program_number = 0;
};

std::optional<Program> FindProgram(std::string_view segment) {
  for (std::size_t at = 0; at < segment.size(); at += kTsPacketBytes) {
    const std::string_view packet = segment.substr(at, kTsPacketBytes);
    if (PidOf(packet) != kPatPid) continue;
    const auto section = SectionIn(packet);
    if (!section || section->size() < 8 + 4 + 4) continue;
    for (std::size_t i = 8; i + 4 <= section->size() - 4; i += 4) {
      const auto number = static_cast<std::uint16_t>(U16(*section, i));
      if (number == 0) continue;  // the network PID
      return Program{static_cast<std::uint16_t>(U16(*section, i + 2) & 0x1FFF), number};
    }
  }
  return std::nullopt;
}

// PIDs of the elementary streams a PMT section lists.
std::vector<std::uint16_t> StreamPids(std::string_view pmt) {
  std::vector<std::uint16_t> pids;
  const std::size_t info_length = U16(pmt, 10) & 0x0FFF;
  for (std::size_t i = 12 + info_length; i + 5 <= pmt.size() - 4;) {
    pids.push_back(static_cast<std::uint16_t>(U16(pmt, i + 1) & 0x1FFF));
    i += 5 + (U16(pmt, i + 3) & 0x0FFF);
  }
  return pids;
}

// The PMT `pmt` with the metadata descriptors and stream added.
std::string WithMetadataStream(std::string_view pmt, std::uint16_t program_number,
                               std::uint16_t metadata_pid) {
  const std::size_t info_length = U16(pmt, 10) & 0x0FFF;
  // metadata_pointer_descriptor: format fields, metadata_locator_record_flag 0,
  // MPEG_carriage_flags 0 (this multiplex), reserved, program_number.
  std::string pointer;
  pointer.push_back(static_cast<char>(kMetadataPointerDescriptorTag));
  pointer.push_back(static_cast<char>(kId3FormatFields.size() + 3));
  pointer.append(kId3FormatFields);
  pointer.push_back(static_cast<char>(0x1F));
  pointer.push_back(static_cast<char>(program_number >> 8));
  pointer.push_back(static_cast<char>(program_number & 0xFF));
  // metadata_descriptor: format fields, decoder_config_flags 0, DSM-CC_flag 0, reserved.
  std::string descriptor;
  descriptor.push_back(static_cast<char>(kMetadataDescriptorTag));
  descriptor.push_back(static_cast<char>(kId3FormatFields.size() + 1));
  descriptor.append(kId3FormatFields);
  descriptor.push_back(static_cast<char>(0x0F));
  std::string entry;
  entry.push_back(static_cast<char>(kMetadataStreamType));
  entry.push_back(static_cast<char>(0xE0 | (metadata_pid >> 8)));
  entry.push_back(static_cast<char>(metadata_pid & 0xFF));
  entry.push_back(static_cast<char>(0xF0 | (descriptor.size() >> 8)));
  entry.push_back(static_cast<char>(descriptor.size() & 0xFF));
  entry += descriptor;

  std::string out;
  out.append(pmt.substr(0, 12 + info_length));
  out += pointer;
  out.append(pmt.substr(12 + info_length, pmt.size() - 4 - 12 - info_length));
  out += entry;
  const std::size_t section_length = out.size() + 4 - 3;
  out[1] = static_cast<char>((static_cast<std::uint8_t>(out[1]) & 0xF0) | (section_length >> 8));
  out[2] = static_cast<char>(section_length & 0xFF);
  const std::size_t new_info = info_length + pointer.size();
  out[10] = static_cast<char>((static_cast<std::uint8_t>(out[10]) & 0xF0) | (new_info >> 8));
  out[11] = static_cast<char>(new_info & 0xFF);
  const std::uint32_t crc = Crc32Mpeg2(out);
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((crc >> shift) & 0xFF));
  }
  return out;
}

// The PTS of the PES packet that starts in `packet`, if it has one.
std::optional<std::uint64_t> PtsIn(std::string_view packet) {
  const auto offset = PayloadOffset(packet);
  if (!offset || !StartsUnit(packet) || *offset + 14 > kTsPacketBytes) return std::nullopt;
  const std::string_view pes = packet.substr(*offset);
  if (pes[0] != 0 || pes[1] != 0 || pes[2] != 1) return std::nullopt;
  if ((static_cast<std::uint8_t>(pes[7]) & 0x80) == 0) return std::nullopt;
  const auto b = [&](std::size_t i) {
    return static_cast<std::uint64_t>(static_cast<std::uint8_t>(pes[i]));
  };
  return ((b(9) >> 1) & 0x07) << 30 | b(10) << 22 | (b(11) >> 1) << 15 | b(12) << 7 | (b(13) >> 1);
}

// One PES packet (private_stream_1, data-aligned, PTS only) holding `tag`.
std::string Pes(std::string_view tag, std::uint64_t pts) {
  std::string pes("\x00\x00\x01", 3);
  pes.push_back(static_cast<char>(kPrivateStream1));
  const std::size_t length = 3 + 5 + tag.size();
  pes.push_back(static_cast<char>(length >> 8));
  pes.push_back(static_cast<char>(length & 0xFF));
  pes.push_back(static_cast<char>(0x84));  // '10', data_alignment_indicator
  pes.push_back(static_cast<char>(0x80));  // PTS only
  pes.push_back(static_cast<char>(0x05));
  pes.push_back(static_cast<char>(0x21 | ((pts >> 29) & 0x0E)));
  pes.push_back(static_cast<char>((pts >> 22) & 0xFF));
  pes.push_back(static_cast<char>(0x01 | ((pts >> 14) & 0xFE)));
  pes.push_back(static_cast<char>((pts >> 7) & 0xFF));
  pes.push_back(static_cast<char>(0x01 | ((pts << 1) & 0xFE)));
  pes.append(tag);
  return pes;
}

// `pes` cut into TS packets on `pid`; the last one padded with adaptation-field stuffing.
std::string Packetize(std::string_view pes, std::uint16_t pid, std::uint8_t& continuity) {
  std::string out;
  for (std::size_t at = 0; at < pes.size(); at += kTsPayloadBytes) {
    const std::size_t chunk = std::min(kTsPayloadBytes, pes.size() - at);
    const bool stuffed = chunk < kTsPayloadBytes;
    out.push_back(static_cast<char>(kTsSyncByte));
    out.push_back(static_cast<char>((at == 0 ? 0x40 : 0x00) | (pid >> 8)));
    out.push_back(static_cast<char>(pid & 0xFF));
    out.push_back(static_cast<char>((stuffed ? 0x30 : 0x10) | (continuity & 0x0F)));
    continuity = static_cast<std::uint8_t>((continuity + 1) & 0x0F);
    if (stuffed) {
      const std::size_t field = kTsPayloadBytes - chunk - 1;  // adaptation_field_length
      out.push_back(static_cast<char>(field));
      if (field > 0) {
        out.push_back(static_cast<char>(0x00));  // no flags
        out.append(field - 1, static_cast<char>(0xFF));
      }
    }
    out.append(pes.substr(at, chunk));
  }
  return out;
}

}  // namespace

std::uint32_t Crc32Mpeg2(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFF;
  for (const char c : bytes) {
    crc ^= static_cast<std::uint32_t>(static_cast<std::uint8_t>(c)) << 24;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x80000000) ? (crc << 1) ^ 0x04C11DB7 : crc << 1;
  }
  return crc;
}

namespace {

// An ID3v2.4 tag holding one frame `id` with `frame_body`.
std::string Id3Tag(std::string_view id, std::string_view frame_body) {
  std::string tag = "ID3";
  tag.push_back(static_cast<char>(0x04));  // version 2.4.0
  tag.push_back(static_cast<char>(0x00));
  tag.push_back(static_cast<char>(0x00));  // no flags
  PutSyncsafe(tag, std::min(kMaxSyncsafe, kId3HeaderBytes + frame_body.size()));
  tag.append(id);
  PutSyncsafe(tag, std::min(kMaxSyncsafe, frame_body.size()));
  tag.push_back(static_cast<char>(0x00));  // frame flags
  tag.push_back(static_cast<char>(0x00));
  tag += frame_body;
  return tag;
}

}  // namespace

std::string Id3TxxxTag(std::string_view description, std::string_view value) {
  std::string frame_body;
  frame_body.push_back(static_cast<char>(0x03));  // UTF-8
  frame_body.append(description);
  frame_body.push_back('\0');
  frame_body.append(value);
  return Id3Tag("TXXX", frame_body);
}

std::string Id3PrivTag(std::string_view owner, std::string_view data) {
  std::string frame_body(owner);
  frame_body.push_back('\0');
  frame_body.append(data);
  return Id3Tag("PRIV", frame_body);
}

// What InjectId3 does to a segment, found in (the head of) it: the PMT's
// PID, the PMT to put in its place, and the metadata packets that follow
// the first PMT.
struct Id3Plan {
  std::uint16_t pmt_pid = 0;
  std::string new_pmt;
  std::string metadata_packets;
};

namespace {

// InjectId3's checks and its pass over `segment`: the PMT (its stream
// PIDs) and the first PTS of each stream.
Result<Id3Plan> PlanId3(std::string_view segment, const std::vector<std::string>& id3_tags) {
  if (segment.empty() || segment.size() % kTsPacketBytes != 0) {
    return Error::InvalidArgument("not a transport stream: " + std::to_string(segment.size()) +
                                  " bytes is not a whole number of 188-byte packets");
  }
  for (std::size_t at = 0; at < segment.size(); at += kTsPacketBytes) {
    if (static_cast<std::uint8_t>(segment[at]) != kTsSyncByte) {
      return Error::InvalidArgument("not a transport stream: no sync byte at " +
                                    std::to_string(at));
    }
  }
  for (const auto& tag : id3_tags) {
    if (tag.size() > kMaxPesPayload) return Error::InvalidArgument("an ID3 tag is over 64 KB");
  }
  const auto program = FindProgram(segment);
  if (!program) return Error::InvalidArgument("no program in the PAT");

  std::optional<std::string> pmt;
  std::set<std::uint16_t> used_pids = {kPatPid, program->pmt_pid, kNullPid};
  std::set<std::uint16_t> seen_pts_pids;
  std::optional<std::uint64_t> first_pts;
  for (std::size_t at = 0; at < segment.size(); at += kTsPacketBytes) {
    const std::string_view packet = segment.substr(at, kTsPacketBytes);
    const std::uint16_t pid = PidOf(packet);
    used_pids.insert(pid);
    if (pid == program->pmt_pid && !pmt && StartsUnit(packet)) {
      const auto section = SectionIn(packet);
      if (!section || static_cast<std::uint8_t>((*section)[0]) != kPmtTableId) {
        return Error::InvalidArgument("the PMT is not one section in one packet");
      }
      pmt = std::string(*section);
      continue;
    }
    if (seen_pts_pids.contains(pid)) continue;
    if (const auto pts = PtsIn(packet)) {
      seen_pts_pids.insert(pid);
      first_pts = first_pts ? std::min(*first_pts, *pts) : *pts;
    }
  }
  if (!pmt) {
    return Error::InvalidArgument("no PMT for program " + std::to_string(program->program_number));
  }
  if (!first_pts) return Error::InvalidArgument("no PES packet with a PTS");
  for (const std::uint16_t pid : StreamPids(*pmt)) used_pids.insert(pid);
  std::uint16_t metadata_pid = kFirstMetadataPid;
  while (used_pids.contains(metadata_pid)) ++metadata_pid;

  Id3Plan plan;
  plan.pmt_pid = program->pmt_pid;
  plan.new_pmt = WithMetadataStream(*pmt, program->program_number, metadata_pid);
  if (1 + plan.new_pmt.size() > kTsPayloadBytes) {
    return Error::InvalidArgument("the PMT with the metadata stream does not fit one packet");
  }
  std::uint8_t continuity = 0;
  for (const auto& tag : id3_tags) {
    plan.metadata_packets += Packetize(Pes(tag, *first_pts), metadata_pid, continuity);
  }
  return plan;
}

// Appends `packet` to `out` as the plan says: a PMT rewritten (the
// metadata packets after the first), anything else as it is.
void ApplyId3(const Id3Plan& plan, std::string_view packet, bool& injected, std::string& out) {
  if (PidOf(packet) != plan.pmt_pid || !StartsUnit(packet)) {
    out.append(packet);
    return;
  }
  // Same header (PID, continuity), no adaptation field, pointer_field 0,
  // the new section, 0xFF stuffing.
  const std::size_t at = out.size();
  out.append(packet.substr(0, kTsHeaderBytes));
  out[at + 3] = static_cast<char>(0x10 | (static_cast<std::uint8_t>(packet[3]) & 0x0F));
  out.push_back('\0');
  out += plan.new_pmt;
  out.resize(at + kTsPacketBytes, static_cast<char>(0xFF));
  if (!injected) {
    out += plan.metadata_packets;
    injected = true;
  }
}

// Whether the head of a segment holds what PlanId3 needs to plan as it
// would for the whole segment: the PAT, the PMT and a PTS of every stream
// the PMT lists.
bool HoldsPlan(std::string_view head) {
  const auto program = FindProgram(head);
  if (!program) return false;
  std::optional<std::string_view> pmt;
  std::set<std::uint16_t> with_pts;
  for (std::size_t at = 0; at < head.size(); at += kTsPacketBytes) {
    const std::string_view packet = head.substr(at, kTsPacketBytes);
    const std::uint16_t pid = PidOf(packet);
    if (pid == program->pmt_pid && !pmt && StartsUnit(packet)) {
      pmt = SectionIn(packet);
      if (!pmt) return false;
    } else if (PtsIn(packet)) {
      with_pts.insert(pid);
    }
  }
  if (!pmt || static_cast<std::uint8_t>((*pmt)[0]) != kPmtTableId) return false;
  const std::vector<std::uint16_t> streams = StreamPids(*pmt);
  return std::all_of(streams.begin(), streams.end(),
                     [&](std::uint16_t pid) { return with_pts.contains(pid); });
}

}  // namespace

Result<std::string> InjectId3(std::string_view segment, const std::vector<std::string>& id3_tags) {
  Result<Id3Plan> plan = PlanId3(segment, id3_tags);
  if (!plan.ok()) return plan.error();
  // Copy, rewriting every PMT and adding the metadata after the first.
  std::string out;
  out.reserve(segment.size() + plan->metadata_packets.size());
  bool injected = false;
  for (std::size_t at = 0; at < segment.size(); at += kTsPacketBytes) {
    ApplyId3(*plan, segment.substr(at, kTsPacketBytes), injected, out);
  }
  return out;
}

Id3TsStream::Id3TsStream(std::vector<std::string> id3_tags) : tags_(std::move(id3_tags)) {}
Id3TsStream::~Id3TsStream() = default;

std::string Id3TsStream::Feed(std::string_view bytes) {
  std::string out;
  if (done_ && !plan_) {
    out.append(bytes);  // as it is
    return out;
  }
  pending_.append(bytes);
  if (!done_) {
    // Planned on whole packets of the head, once it holds the plan or is
    // as large as it may get.
    const std::size_t whole = pending_.size() - pending_.size() % kTsPacketBytes;
    const std::string_view head(pending_.data(), whole);
    if (!HoldsPlan(head) && pending_.size() < kMaxTsHeadBytes) return out;
    MakePlan(head);
    if (!plan_) {
      out.swap(pending_);
      return out;
    }
  }
  std::size_t at = 0;
  for (; at + kTsPacketBytes <= pending_.size(); at += kTsPacketBytes) {
    const std::string_view packet = std::string_view(pending_).substr(at, kTsPacketBytes);
    if (static_cast<std::uint8_t>(packet[0]) != kTsSyncByte) {
      // Lost sync: the rest goes out as it is.
      plan_.reset();
      out.append(std::string_view(pending_).substr(at));
      pending_.clear();
      return out;
    }
    ApplyId3(*plan_, packet, injected_, out);
  }
  pending_.erase(0, at);
  return out;
}

std::string Id3TsStream::Finish() {
  if (!done_) {
    // The whole segment is the head: exactly what InjectId3 makes of it.
    done_ = true;
    Result<std::string> whole = InjectId3(pending_, tags_);
    if (!whole.ok()) return std::exchange(pending_, {});
    added_ = whole->size() - pending_.size();
    pending_.clear();
    return std::move(*whole);
  }
  return std::exchange(pending_, {});  // a cut packet at the end, as it is
}

void Id3TsStream::MakePlan(std::string_view head) {
  done_ = true;
  Result<Id3Plan> plan = PlanId3(head, tags_);
  if (!plan.ok()) return;
  added_ = plan->metadata_packets.size();
  plan_ = std::make_unique<Id3Plan>(std::move(*plan));
}

}  // namespace headcount
