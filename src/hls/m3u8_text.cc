// Lines, tags and attribute lists of M3U8 text (see m3u8_text.h).
#include "hls/m3u8_text.h"

#include <algorithm>

#include "core/strings.h"

namespace headcount {

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

bool IsTag(std::string_view line) { return line.starts_with("#EXT"); }

std::string_view TagName(std::string_view line) {
  if (!IsTag(line)) return {};
  const std::size_t colon = line.find(':');
  return line.substr(1, colon == std::string_view::npos ? std::string_view::npos : colon - 1);
}

std::string_view TagValue(std::string_view line) {
  if (!IsTag(line)) return {};
  const std::size_t colon = line.find(':');
  return colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
}

bool IsUriLine(std::string_view line) {
  const std::string_view t = Trim(line);
  return !t.empty() && t.front() != '#';
}

std::optional<std::vector<M3u8Attribute>> ParseAttributes(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::vector<M3u8Attribute> out;
  std::size_t pos = colon + 1;
  while (pos < line.size()) {
    const std::size_t eq = line.find('=', pos);
    if (eq == std::string_view::npos) return std::nullopt;
    M3u8Attribute a;
    a.name = Trim(line.substr(pos, eq - pos));
    std::size_t value_end;
    if (eq + 1 < line.size() && line[eq + 1] == '"') {
      const std::size_t close = line.find('"', eq + 2);
      if (close == std::string_view::npos) return std::nullopt;
      a.quoted = true;
      a.value_offset = eq + 2;
      a.value = line.substr(eq + 2, close - (eq + 2));
      value_end = close + 1;
    } else {
      value_end = std::min(line.find(',', eq + 1), line.size());
      a.value_offset = eq + 1;
      a.value = line.substr(eq + 1, value_end - (eq + 1));
    }
    if (value_end < line.size() && line[value_end] != ',') return std::nullopt;
    out.push_back(a);
    pos = value_end + 1;
  }
  return out;
}

std::optional<M3u8Attribute> FindAttribute(std::string_view line, std::string_view name) {
  const std::optional<std::vector<M3u8Attribute>> attributes = ParseAttributes(line);
  if (!attributes) return std::nullopt;
  for (const M3u8Attribute& a : *attributes) {
    if (a.name == name) return a;
  }
  return std::nullopt;
}

}  // namespace headcount
