// The IVS emulator's wire helpers: REST-JSON error responses, Smithy-style
// input validation messages, the model's string patterns and pagination
// tokens. Pure functions and value types: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ivs_emulator/sigv4_verifier.h"
#include "server/http.h"

namespace headcount::ivs_emulator {

inline constexpr std::size_t kMaxArnLength = 128;
inline constexpr std::size_t kMaxChannelNameLength = 128;
inline constexpr std::size_t kMaxPaginationTokenLength = 1024;
// Values longer than this are cut when echoed in a validation message.
inline constexpr std::size_t kMaxEchoedValueChars = 256;

inline constexpr std::string_view kChannelArnPattern =
    "^arn:aws:ivs:[a-z0-9-]+:[0-9]+:channel/[a-zA-Z0-9-]+$";
inline constexpr std::string_view kChannelNamePattern = "^[a-zA-Z0-9-_]*$";
inline constexpr std::string_view kPaginationTokenPattern = "^[a-zA-Z0-9+/=_-]*$";

// A request's body: a JSON object (an empty body is {}).
struct RequestBody {
  nlohmann::json json = nlohmann::json::object();
};

// A REST-JSON error as IVS sends it: `status`, header x-amzn-ErrorType:
// `type`, body {"exceptionMessage": m, "message": m}.
HttpResponse IvsError(int status, std::string_view type, std::string_view message);
// 403 with the failure's type and {"message": ...}, as AWS's front end sends.
HttpResponse AuthError(const AuthFailure& failure);
// 200 (or `status`) with a JSON body.
HttpResponse IvsJson(const nlohmann::json& body, int status = 200);

// Collects constraint violations into one ValidationException message:
// "1 validation error detected: Value 'x' at 'maxResults' failed to satisfy
// constraint: Member must have value less than or equal to 100".
class Violations {
 public:
  // `value` is the JSON text of the offending value (nullopt: "null";
  // `sensitive` members are not echoed).
  void Add(std::string_view member, const nlohmann::json* value, std::string_view constraint,
           bool sensitive = false);
  bool empty() const { return items_.empty(); }  // NOLINT(readability-identifier-naming)
  std::string Message() const;

 private:
  std::vector<std::string> items_;
};

// Member readers: the value when present and of the right type; nullopt when
// absent or null (no violation) or of another type (a violation is added).
std::optional<std::string> ReadString(const nlohmann::json& object, std::string_view member,
                                      Violations& violations, bool sensitive = false);
std::optional<std::int64_t> ReadInteger(const nlohmann::json& object, std::string_view member,
                                        Violations& violations);

// The model's string shapes.
bool IsChannelArn(std::string_view s);
// "^^$|^arn:aws:ivs:[a-z0-9-]+:[0-9]+:<resource>/[a-zA-Z0-9-]+$$": empty or an
// IVS ARN of that resource type.
bool IsOptionalIvsArn(std::string_view s, std::string_view resource);
bool IsChannelName(std::string_view s);
bool IsPaginationToken(std::string_view s);

// Opaque nextToken values: "<prefix>" + the index listing resumes at.
std::string EncodePageToken(std::string_view operation, std::size_t index);
// The index, or nullopt for a token this operation did not hand out.
std::optional<std::size_t> DecodePageToken(std::string_view operation, std::string_view token);

// `s` cut at every `sep` (n separators give n + 1 parts, empty ones kept).
std::vector<std::string_view> Split(std::string_view s, char sep);

}  // namespace headcount::ivs_emulator
