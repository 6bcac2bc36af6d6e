// Wire helpers for the IVS emulator. Pure functions: thread-safe.
#include "ivs_emulator/wire.h"

#include <algorithm>
#include <charconv>

#include "core/strings.h"

namespace headcount::ivs_emulator {
namespace {

constexpr std::string_view kPageTokenVersion = "v1-";

bool IsLowerDigitDash(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}
bool IsAlnumDash(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// Consumes a non-empty run of characters matching `pred` from `s`.
template <typename Pred>
bool TakeRun(std::string_view& s, Pred pred) {
  std::size_t n = 0;
  while (n < s.size() && pred(s[n])) ++n;
  if (n == 0) return false;
  s.remove_prefix(n);
  return true;
}

bool TakeLiteral(std::string_view& s, std::string_view literal) {
  if (s.substr(0, literal.size()) != literal) return false;
  s.remove_prefix(literal.size());
  return true;
}

// "^arn:aws:ivs:[a-z0-9-]+:[0-9]+:<resource>/[a-zA-Z0-9-]+$".
bool IsIvsArn(std::string_view s, std::string_view resource) {
  if (!TakeLiteral(s, "arn:aws:ivs:") || !TakeRun(s, IsLowerDigitDash) || !TakeLiteral(s, ":") ||
      !TakeRun(s, IsDigit) || !TakeLiteral(s, ":") || !TakeLiteral(s, resource) ||
      !TakeLiteral(s, "/") || !TakeRun(s, IsAlnumDash)) {
    return false;
  }
  return s.empty();
}

std::string TypeName(const nlohmann::json& v) {
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_array()) return "list";
  if (v.is_object()) return "structure";
  return "null";
}

}  // namespace

HttpResponse IvsError(int status, std::string_view type, std::string_view message) {
  HttpResponse r = IvsJson({{"exceptionMessage", message}, {"message", message}}, status);
  r.headers.emplace_back("x-amzn-ErrorType", std::string(type));
  return r;
}

HttpResponse AuthError(const AuthFailure& failure) {
  HttpResponse r = IvsJson({{"message", failure.message}}, 403);
  r.headers.emplace_back("x-amzn-ErrorType", failure.error_type);
  return r;
}

HttpResponse IvsJson(const nlohmann::json& body, int status) {
  // Invalid UTF-8 from a client (echoed in a message) is replaced, not thrown.
  return HttpResponse::Json(status,
                            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Violations::Add(std::string_view member, const nlohmann::json* value,
                     std::string_view constraint, bool sensitive) {
  std::string item = "Value ";
  if (sensitive) {
    item += "at '";
  } else {
    if (value == nullptr || value->is_null()) {
      item += "null";
    } else {
      std::string text = value->is_string() ? value->get<std::string>()
                                            : value->dump(-1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace);
      if (text.size() > kMaxEchoedValueChars) text = text.substr(0, kMaxEchoedValueChars) + "...";
      item += "'" + text + "'";
    }
    item += " at '";
  }
  item += std::string(member) + "' failed to satisfy constraint: " + std::string(constraint);
  items_.push_back(std::move(item));
}

std::string Violations::Message() const {
  std::string out =
      std::to_string(items_.size()) +
      (items_.size() == 1 ? " validation error detected: " : " validation errors detected: ");
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (i > 0) out += "; ";
    out += items_[i];
  }
  return out;
}

std::optional<std::string> ReadString(const nlohmann::json& object, std::string_view member,
                                      Violations& violations, bool sensitive) {
  const auto it = object.find(member);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    violations.Add(member, &*it, "Member must be of type string, not " + TypeName(*it), sensitive);
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::optional<std::int64_t> ReadInteger(const nlohmann::json& object, std::string_view member,
                                        Violations& violations) {
  const auto it = object.find(member);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) {
    // 5.0 is an integer to a JSON reader that does not keep the difference.
    const double d = it->get<double>();
    if (d == static_cast<double>(static_cast<std::int64_t>(d))) return static_cast<std::int64_t>(d);
  }
  violations.Add(member, &*it, "Member must be of type integer, not " + TypeName(*it));
  return std::nullopt;
}

bool IsChannelArn(std::string_view s) { return IsIvsArn(s, "channel"); }

bool IsOptionalIvsArn(std::string_view s, std::string_view resource) {
  return s.empty() || IsIvsArn(s, resource);
}

bool IsChannelName(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnumDash(c) || c == '_'; });
}

bool IsPaginationToken(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return IsAlnumDash(c) || c == '+' || c == '/' || c == '=' || c == '_';
  });
}

std::string EncodePageToken(std::string_view operation, std::size_t index) {
  return std::string(kPageTokenVersion) + std::string(operation) + "-" + std::to_string(index);
}

std::optional<std::size_t> DecodePageToken(std::string_view operation, std::string_view token) {
  const std::string prefix = std::string(kPageTokenVersion) + std::string(operation) + "-";
  if (token.substr(0, prefix.size()) != prefix) return std::nullopt;
  token.remove_prefix(prefix.size());
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (ec != std::errc() || end != token.data() + token.size() || token.empty()) return std::nullopt;
  return index;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

}  // namespace headcount::ivs_emulator
