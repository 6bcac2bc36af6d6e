#include "heartbeat/cmcd_report.h"

#include <algorithm>
#include <charconv>

namespace headcount {
namespace {

// RFC 8941 §3.3.1/§3.3.2: integers have at most 15 digits; decimals at most
// 12 before the point and 3 after.
constexpr std::size_t kMaxIntegerDigits = 15;
constexpr std::size_t kMaxDecimalIntegerDigits = 12;
constexpr std::size_t kMaxDecimalFractionDigits = 3;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlpha(char c) { return IsLcAlpha(c) || (c >= 'A' && c <= 'Z'); }
// RFC 9110 tchar.
bool IsTchar(char c) {
  return IsAlpha(c) || IsDigit(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool IsKeyChar(char c) {
  return IsLcAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '.' || c == '*';
}
bool IsBase64Char(char c) { return IsAlpha(c) || IsDigit(c) || c == '+' || c == '/' || c == '='; }

// A cursor over one line; every Parse* consumes what it reads or fails.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpaces() {
    while (Peek() == ' ') ++pos_;
  }
  void SkipOws() {
    while (Peek() == ' ' || Peek() == '\t') ++pos_;
  }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }

  Error Fail(std::string_view what) const {
    return Error::InvalidArgument(std::string(what) + " at character " + std::to_string(pos_ + 1));
  }

  Result<std::string> ParseKey() {
    const std::size_t start = pos_;
    if (!IsLcAlpha(Peek()) && Peek() != '*') return Fail("a key must start with a-z or *");
    while (IsKeyChar(Peek())) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<CmcdItem> ParseBareItem() {
    const char c = Peek();
    if (c == '-' || IsDigit(c)) return ParseNumber();
    if (c == '"') return ParseString();
    if (c == '?') return ParseBoolean();
    if (c == ':') return ParseBytes();
    if (c == '@') {
      ++pos_;
      Result<CmcdItem> date = ParseNumber();
      if (!date.ok()) return date;
      if (!std::holds_alternative<std::int64_t>(*date)) return Fail("a date is an integer");
      return date;
    }
    if (IsAlpha(c) || c == '*') return ParseToken();
    return Fail("not a value");
  }

  // An item and its parameters, which are read and dropped.
  Result<CmcdItem> ParseItem() {
    Result<CmcdItem> item = ParseBareItem();
    if (!item.ok()) return item;
    if (Status st = SkipParameters(); !st.ok()) return st.error();
    return item;
  }

  Result<CmcdList> ParseInnerList() {
    CmcdList list;
    ++pos_;  // '('
    while (true) {
      SkipSpaces();
      if (Consume(')')) break;
      if (list.items.size() == kMaxCmcdListItems) return Fail("too many items in a list");
      Result<CmcdItem> item = ParseItem();
      if (!item.ok()) return item.error();
      list.items.push_back(std::move(*item));
      if (Peek() != ' ' && Peek() != ')') return Fail("list items are separated by spaces");
    }
    if (Status st = SkipParameters(); !st.ok()) return st.error();
    return list;
  }

  // Reads and drops parameters (`;k=v;k2`).
  Status SkipParameters() {
    while (Consume(';')) {
      SkipSpaces();
      Result<std::string> key = ParseKey();
      if (!key.ok()) return key.error();
      if (Consume('=')) {
        Result<CmcdItem> value = ParseBareItem();
        if (!value.ok()) return value.error();
      }
    }
    return Status();
  }

 private:
  Result<CmcdItem> ParseNumber() {
    const std::size_t start = pos_;
    const bool negative = Consume('-');
    const std::size_t digits_start = pos_;
    while (IsDigit(Peek())) ++pos_;
    const std::size_t int_digits = pos_ - digits_start;
    if (int_digits == 0) return Fail("a number needs a digit");
    if (Peek() != '.') {
      if (int_digits > kMaxIntegerDigits) return Fail("an integer has at most 15 digits");
      std::int64_t value = 0;
      std::from_chars(text_.data() + digits_start, text_.data() + pos_, value);
      return CmcdItem{negative ? -value : value};
    }
    if (int_digits > kMaxDecimalIntegerDigits) {
      return Fail("a decimal has at most 12 digits before '.'");
    }
    ++pos_;  // '.'
    const std::size_t fraction_start = pos_;
    while (IsDigit(Peek())) ++pos_;
    const std::size_t fraction_digits = pos_ - fraction_start;
    if (fraction_digits == 0 || fraction_digits > kMaxDecimalFractionDigits) {
      return Fail("a decimal has 1 to 3 digits after '.'");
    }
    double value = 0;
    std::from_chars(text_.data() + start, text_.data() + pos_, value);
    return CmcdItem{value};
  }

  Result<CmcdItem> ParseString() {
    ++pos_;  // '"'
    std::string out;
    while (!AtEnd()) {
      const char c = text_[pos_++];
      if (c == '"') return CmcdItem{std::move(out)};
      if (c == '\\') {
        const char escaped = Peek();
        if (escaped != '"' && escaped != '\\') return Fail("only \\\" and \\\\ are escapes");
        out += escaped;
        ++pos_;
      } else if (c < 0x20 || c > 0x7e) {
        return Fail("a string holds printable ASCII only");
      } else {
        out += c;
      }
    }
    return Fail("a string is not closed");
  }

  Result<CmcdItem> ParseBoolean() {
    ++pos_;  // '?'
    if (Consume('1')) return CmcdItem{true};
    if (Consume('0')) return CmcdItem{false};
    return Fail("a boolean is ?0 or ?1");
  }

  Result<CmcdItem> ParseBytes() {
    ++pos_;  // ':'
    const std::size_t start = pos_;
    while (IsBase64Char(Peek())) ++pos_;
    const std::size_t end = pos_;
    if (!Consume(':')) return Fail("a byte sequence is not closed");
    return CmcdItem{CmcdBytes{std::string(text_.substr(start, end - start))}};
  }

  Result<CmcdItem> ParseToken() {
    const std::size_t start = pos_;
    ++pos_;
    while (IsTchar(Peek()) || Peek() == ':' || Peek() == '/') ++pos_;
    return CmcdItem{CmcdToken{std::string(text_.substr(start, pos_ - start))}};
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

CmcdValue ToValue(CmcdItem item) {
  return std::visit([](auto&& v) -> CmcdValue { return std::forward<decltype(v)>(v); },
                    std::move(item));
}

}  // namespace

const CmcdValue* CmcdReport::Find(std::string_view key) const {
  for (const auto& [k, v] : fields_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<std::string_view> CmcdReport::String(std::string_view key) const {
  const CmcdValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  return std::nullopt;
}

std::optional<std::string_view> CmcdReport::TokenOrString(std::string_view key) const {
  const CmcdValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* t = std::get_if<CmcdToken>(v)) return t->text;
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  return std::nullopt;
}

std::optional<std::int64_t> CmcdReport::Integer(std::string_view key) const {
  const CmcdValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* i = std::get_if<std::int64_t>(v)) return *i;
  return std::nullopt;
}

Result<CmcdReport> ParseCmcdReport(std::string_view line) {
  Reader in(line);
  in.SkipSpaces();
  if (in.AtEnd()) return in.Fail("an empty report");
  CmcdReport report;
  while (true) {
    Result<std::string> key = in.ParseKey();
    if (!key.ok()) return key.error();
    CmcdValue value = true;
    if (in.Consume('=')) {
      if (in.Peek() == '(') {
        Result<CmcdList> list = in.ParseInnerList();
        if (!list.ok()) return list.error();
        value = std::move(*list);
      } else {
        Result<CmcdItem> item = in.ParseItem();
        if (!item.ok()) return item.error();
        value = ToValue(std::move(*item));
      }
    } else if (Status st = in.SkipParameters(); !st.ok()) {
      return st.error();  // a bare key is true, and may carry parameters too
    }
    auto same = std::find_if(report.fields_.begin(), report.fields_.end(),
                             [&](const auto& field) { return field.first == *key; });
    if (same != report.fields_.end()) {
      same->second = std::move(value);
    } else {
      if (report.fields_.size() == kMaxCmcdKeys) return in.Fail("too many keys");
      report.fields_.emplace_back(std::move(*key), std::move(value));
    }
    in.SkipOws();
    if (in.AtEnd()) return report;
    if (!in.Consume(',')) return in.Fail("members are separated by ','");
    in.SkipOws();
    if (in.AtEnd()) return in.Fail("a ',' ends the report");
  }
}

CmcdBody ParseCmcdBody(std::string_view body) {
  CmcdBody out;
  std::size_t lines = 0;
  while (!body.empty()) {
    const std::size_t end = body.find('\n');
    std::string_view line = body.substr(0, end);
    body.remove_prefix(end == std::string_view::npos ? body.size() : end + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (++lines > kMaxCmcdLinesPerBody) {
      ++out.bad_lines;
      continue;
    }
    Result<CmcdReport> report = ParseCmcdReport(line);
    if (report.ok()) {
      out.reports.push_back(std::move(*report));
    } else {
      ++out.bad_lines;
    }
  }
  return out;
}

}  // namespace headcount
