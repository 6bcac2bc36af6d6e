// Test helpers for bmff / emsg: a tiny fMP4 init segment and media segment
// written by hand, box by box, as ffmpeg's HLS muxer lays them out (styp,
// sidx, moof with one traf per track, mdat). Header-only; for tests.
#pragma once

#include <cstdint>
#include <string>

namespace headcount::testing {

inline std::string U32(std::uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xFF);
  return s;
}
inline std::string U64(std::uint64_t v) {
  return U32(std::uint32_t(v >> 32)) + U32(std::uint32_t(v));
}

inline std::string Box(const std::string& type, const std::string& content) {
  return U32(static_cast<std::uint32_t>(8 + content.size())) + type + content;
}
inline std::string FullBox(const std::string& type, std::uint8_t version,
                           const std::string& content) {
  return Box(type, std::string(1, static_cast<char>(version)) + std::string(3, '\0') + content);
}

// tkhd + mdia/mdhd of one track; version 1 boxes use 64-bit times.
inline std::string Trak(std::uint32_t track_id, std::uint32_t timescale, std::uint8_t version) {
  const std::string times = version == 1 ? U64(1) + U64(2) : U32(1) + U32(2);
  const std::string tkhd = FullBox("tkhd", version, times + U32(track_id) + std::string(60, '\0'));
  const std::string mdhd =
      FullBox("mdhd", version, times + U32(timescale) + (version == 1 ? U64(0) : U32(0)) + U32(0));
  return Box("trak", tkhd + Box("mdia", mdhd + Box("hdlr", std::string(24, '\0'))));
}

// ftyp, moov (mvhd at 1000 ticks/s; track 1 video at 90 kHz in version 0
// boxes; track 2 audio at 48 kHz in version 1 boxes).
inline std::string MakeInit() {
  const std::string mvhd = FullBox("mvhd", 0, U32(1) + U32(2) + U32(1000) + std::string(84, '\0'));
  return Box("ftyp", "iso5" + U32(512) + "iso6mp41") +
         Box("moov", mvhd + Trak(1, 90000, 0) + Trak(2, 48000, 1));
}

inline std::string Traf(std::uint32_t track_id, std::uint64_t decode_time) {
  return Box("traf", FullBox("tfhd", 0, U32(track_id)) + FullBox("tfdt", 1, U64(decode_time)) +
                         FullBox("trun", 0, U32(0)));
}

// A sidx (version 1) whose one reference covers everything after it.
inline std::string Sidx(std::uint32_t track_id, std::uint32_t referenced_size) {
  return FullBox("sidx", 1,
                 U32(track_id) + U32(90000) + U64(0) + U64(0) + std::string(2, '\0') +
                     std::string("\x00\x01", 2) + U32(referenced_size) + U32(90000) +
                     U32(0x90000000));
}

// styp, sidx, moof (video traf at `video_time`, then audio), mdat.
inline std::string MakeMediaSegment(std::uint64_t video_time, std::uint64_t audio_time) {
  const std::string moof =
      Box("moof", FullBox("mfhd", 0, U32(7)) + Traf(1, video_time) + Traf(2, audio_time));
  const std::string mdat = Box("mdat", std::string(300, '\x5A'));
  return Box("styp", "msdh" + U32(0) + "msdhmsix") +
         Sidx(1, static_cast<std::uint32_t>(moof.size() + mdat.size())) + moof + mdat;
}

}  // namespace headcount::testing
