// Test helpers for id3_ts / playback: a tiny MPEG-2 TS segment written by hand
// (PAT, PMT, one H.264 and one AAC PES with PTS), and a parser that reads a
// segment back independently of id3_ts.cc (its own CRC, its own PES and ID3
// reading). Header-only; for tests.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace headcount::testing {

inline std::uint32_t ReferenceCrc32(const std::string& bytes) {
  // Table-driven, unlike id3_ts.cc's bitwise one.
  static const auto kTable = [] {
    std::vector<std::uint32_t> t(256);
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i << 24;
      for (int k = 0; k < 8; ++k) c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : (c << 1);
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) crc = (crc << 8) ^ kTable[((crc >> 24) ^ b) & 0xFF];
  return crc;
}

inline std::string Packet(std::uint16_t pid, bool start, std::uint8_t cc,
                          const std::string& payload) {
  std::string p;
  p += '\x47';
  p += static_cast<char>((start ? 0x40 : 0) | (pid >> 8));
  p += static_cast<char>(pid & 0xFF);
  p += static_cast<char>(0x10 | (cc & 0x0F));
  p += payload;
  p.resize(188, '\xFF');
  return p;
}

inline std::string Section(std::string body_without_crc) {
  const std::uint32_t crc = ReferenceCrc32(body_without_crc);
  for (int s = 24; s >= 0; s -= 8) body_without_crc += static_cast<char>((crc >> s) & 0xFF);
  return std::string(1, '\0') + body_without_crc;  // pointer_field
}

inline std::string PesWithPts(std::uint8_t stream_id, std::uint64_t pts, std::size_t body) {
  std::string p("\x00\x00\x01", 3);
  p += static_cast<char>(stream_id);
  p += '\0';
  p += '\0';  // unbounded length (video)
  p += '\x80';
  p += '\x80';
  p += '\x05';
  p += static_cast<char>(0x21 | ((pts >> 29) & 0x0E));
  p += static_cast<char>((pts >> 22) & 0xFF);
  p += static_cast<char>(0x01 | ((pts >> 14) & 0xFE));
  p += static_cast<char>((pts >> 7) & 0xFF);
  p += static_cast<char>(0x01 | ((pts << 1) & 0xFE));
  p += std::string(body, '\x11');
  return p;
}

// PAT (program 1 -> PMT PID 0x1000), PMT (H.264 on 0x100, PCR; AAC on 0x101),
// then video PES at PTS `video_pts` and audio at `video_pts - 1000`, and a
// second video PES 3000 later.
inline std::string MakeSegment(std::uint64_t video_pts = 900000) {
  std::string pat = {'\x00', '\xB0', '\x0D', '\x00', '\x01', '\xC1',
                     '\x00', '\x00', '\x00', '\x01', '\xF0', '\x00'};
  std::string pmt = {'\x02', '\xB0', '\x17', '\x00', '\x01', '\xC1', '\x00', '\x00',
                     '\xE1', '\x00', '\xF0', '\x00', '\x1B', '\xE1', '\x00', '\xF0',
                     '\x00', '\x0F', '\xE1', '\x01', '\xF0', '\x00'};
  std::string out = Packet(0, true, 0, Section(pat)) + Packet(0x1000, true, 0, Section(pmt));
  out += Packet(0x100, true, 0, PesWithPts(0xE0, video_pts, 100));
  out += Packet(0x101, true, 0, PesWithPts(0xC0, video_pts - 1000, 100));
  out += Packet(0x100, true, 1, PesWithPts(0xE0, video_pts + 3000, 100));
  return out;
}

struct ParsedTxxx {
  std::string description;
  std::string value;
};
struct ParsedMetadataPes {
  std::uint8_t stream_id = 0;
  bool data_aligned = false;
  std::optional<std::uint64_t> pts;
  std::vector<ParsedTxxx> frames;      // the TXXX frames
  std::vector<std::string> frame_ids;  // every frame's id, in order
};
struct ParsedTs {
  bool ok = true;
  std::string problem;
  std::size_t packets = 0;
  std::size_t pmts = 0;
  bool crc_ok = true;
  bool pointer_descriptor = false;   // metadata_pointer_descriptor 0x25 with "ID3 "
  bool metadata_descriptor = false;  // metadata_descriptor 0x26 with "ID3 " on the 0x15 stream
  std::optional<std::uint16_t> metadata_pid;
  std::vector<std::uint8_t> stream_types;
  bool continuity_ok = true;
  std::vector<ParsedMetadataPes> metadata;
};

inline ParsedTs Failed(const std::string& problem) {
  ParsedTs ts;
  ts.ok = false;
  ts.problem = problem;
  return ts;
}

inline std::uint32_t Syncsafe(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 7) | (static_cast<unsigned char>(s[at + i]) & 0x7F);
  return v;
}

inline void ParseId3(const std::string& tag, ParsedMetadataPes& out, ParsedTs& ts) {
  if (tag.size() < 10 || tag.compare(0, 3, "ID3") != 0 || tag[3] != 4) {
    ts.ok = false;
    ts.problem = "not an ID3v2.4 tag";
    return;
  }
  const std::size_t end = 10 + Syncsafe(tag, 6);
  if (end > tag.size()) {
    ts.ok = false;
    ts.problem = "ID3 size past the PES";
    return;
  }
  for (std::size_t at = 10; at + 10 <= end;) {
    const std::string id = tag.substr(at, 4);
    const std::size_t size = Syncsafe(tag, at + 4);
    const std::string body = tag.substr(at + 10, size);
    at += 10 + size;
    out.frame_ids.push_back(id);
    if (id != "TXXX" || body.empty() || body[0] != 3) continue;
    const auto nul = body.find('\0', 1);
    out.frames.push_back({body.substr(1, nul - 1), body.substr(nul + 1)});
  }
}

inline ParsedTs ParseTs(const std::string& ts_bytes) {
  ParsedTs ts;
  if (ts_bytes.size() % 188 != 0) return Failed("size");
  std::optional<std::uint16_t> pmt_pid;
  std::map<std::uint16_t, int> last_cc;
  std::string pes;
  auto finish = [&] {
    if (pes.size() < 9) return;
    ParsedMetadataPes m;
    m.stream_id = static_cast<std::uint8_t>(pes[3]);
    m.data_aligned = (pes[6] & 0x04) != 0;
    const std::size_t header = 9 + static_cast<unsigned char>(pes[8]);
    const std::size_t length =
        (static_cast<unsigned char>(pes[4]) << 8) | static_cast<unsigned char>(pes[5]);
    if ((pes[7] & 0x80) != 0) {
      auto b = [&](int i) {
        return static_cast<std::uint64_t>(static_cast<unsigned char>(pes[9 + i]));
      };
      m.pts = ((b(0) >> 1) & 7) << 30 | b(1) << 22 | (b(2) >> 1) << 15 | b(3) << 7 | b(4) >> 1;
    }
    ParseId3(pes.substr(header, 6 + length - header), m, ts);
    ts.metadata.push_back(m);
    pes.clear();
  };
  for (std::size_t at = 0; at < ts_bytes.size(); at += 188) {
    const std::string p = ts_bytes.substr(at, 188);
    ++ts.packets;
    if (p[0] != '\x47') return Failed("sync");
    const bool start = (p[1] & 0x40) != 0;
    const std::uint16_t pid =
        static_cast<std::uint16_t>(((p[1] & 0x1F) << 8) | static_cast<unsigned char>(p[2]));
    const int control = (static_cast<unsigned char>(p[3]) >> 4) & 3;
    const int cc = p[3] & 0x0F;
    if (control & 1) {
      if (last_cc.contains(pid) && ((last_cc[pid] + 1) & 0x0F) != cc) ts.continuity_ok = false;
      last_cc[pid] = cc;
    }
    std::size_t off = 4;
    if (control & 2) off += 1 + static_cast<unsigned char>(p[4]);
    if (!(control & 1) || off >= 188) continue;
    std::string payload = p.substr(off);
    auto section = [&]() {
      const std::size_t s = 1 + static_cast<unsigned char>(payload[0]);
      const std::size_t len = 3 + (((static_cast<unsigned char>(payload[s + 1]) & 0x0F) << 8) |
                                   static_cast<unsigned char>(payload[s + 2]));
      std::string sec = payload.substr(s, len);
      if (ReferenceCrc32(sec) != 0) ts.crc_ok = false;  // CRC over section + CRC is 0
      return sec;
    };
    if (pid == 0 && start) {
      const std::string sec = section();
      pmt_pid =
          static_cast<std::uint16_t>(((sec[10] & 0x1F) << 8) | static_cast<unsigned char>(sec[11]));
    } else if (pmt_pid && pid == *pmt_pid && start) {
      ++ts.pmts;
      const std::string sec = section();
      const std::size_t info = ((sec[10] & 0x0F) << 8) | static_cast<unsigned char>(sec[11]);
      for (std::size_t d = 12; d + 2 <= 12 + info;
           d += 2 + static_cast<unsigned char>(sec[d + 1])) {
        if (static_cast<unsigned char>(sec[d]) == 0x25 && sec.substr(d + 4, 4) == "ID3 ") {
          ts.pointer_descriptor = true;
        }
      }
      ts.stream_types.clear();
      for (std::size_t e = 12 + info; e + 5 <= sec.size() - 4;) {
        const auto type = static_cast<std::uint8_t>(sec[e]);
        const std::uint16_t es_pid = static_cast<std::uint16_t>(
            ((sec[e + 1] & 0x1F) << 8) | static_cast<unsigned char>(sec[e + 2]));
        const std::size_t es_info =
            ((sec[e + 3] & 0x0F) << 8) | static_cast<unsigned char>(sec[e + 4]);
        ts.stream_types.push_back(type);
        if (type == 0x15) {
          ts.metadata_pid = es_pid;
          for (std::size_t d = e + 5; d + 2 <= e + 5 + es_info;
               d += 2 + static_cast<unsigned char>(sec[d + 1])) {
            if (static_cast<unsigned char>(sec[d]) == 0x26 && sec.substr(d + 4, 4) == "ID3 ") {
              ts.metadata_descriptor = true;
            }
          }
        }
        e += 5 + es_info;
      }
    } else if (ts.metadata_pid && pid == *ts.metadata_pid) {
      if (start) finish();
      pes += payload;
      // A bounded PES is complete once its length is reached.
      if (pes.size() >= 6) {
        const std::size_t length =
            (static_cast<unsigned char>(pes[4]) << 8) | static_cast<unsigned char>(pes[5]);
        if (pes.size() >= 6 + length) {
          pes.resize(6 + length);
          finish();
        }
      }
    }
  }
  finish();
  return ts;
}

}  // namespace headcount::testing
