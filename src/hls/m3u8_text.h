// The text layer of M3U8 playlists (RFC 8216 §4.1, §4.2), shared by the
// playlist rewriter (playlist.h) and the reader (m3u8_reader.h): lines, tags
// and attribute lists. Views into the caller's text; pure, thread-safe.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace headcount {

// Splits `text` into lines on LF, dropping one CR before each LF. A final
// newline does not start another line.
std::vector<std::string_view> SplitLines(std::string_view text);

// True for a tag line ("#EXT..."); other lines starting with '#' are comments.
bool IsTag(std::string_view line);

// "EXTINF" for "#EXTINF:1.0,", "EXT-X-ENDLIST" for "#EXT-X-ENDLIST"; empty
// for anything that is not a tag. Names match whole: "#EXT-X-TARGETDURATIONX"
// is EXT-X-TARGETDURATIONX.
std::string_view TagName(std::string_view line);

// What follows the tag's ':' ("1.0," for "#EXTINF:1.0,"); empty when none.
std::string_view TagValue(std::string_view line);

// A URI line is any non-blank line that does not start with '#'.
bool IsUriLine(std::string_view line);

// One AttributeName=AttributeValue of an attribute list (§4.2).
struct M3u8Attribute {
  std::string_view name;
  std::string_view value;  // without the quotes of a quoted-string
  bool quoted = false;
  std::size_t value_offset = 0;  // of `value` in the tag line
};

// The attribute list of a tag line ("#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=..."),
// in order, or nullopt when it does not parse (no ':', an unterminated
// quoted string, a value not followed by ',' or the end).
std::optional<std::vector<M3u8Attribute>> ParseAttributes(std::string_view line);

// The value of attribute `name` of a tag line, if the list parses and has it.
std::optional<M3u8Attribute> FindAttribute(std::string_view line, std::string_view name);

}  // namespace headcount
