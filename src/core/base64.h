// Base64 (RFC 4648 §4, padded) and base64url (§5, unpadded) codecs for the
// HLS side: payloads in DATERANGE attributes and session ids in URLs.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace headcount {

// Standard alphabet with '=' padding: "aGk=" for "hi".
std::string Base64Encode(std::string_view bytes);
// Inverse of Base64Encode. Strict: requires canonical padding, rejects
// whitespace, other characters and non-zero leftover bits (InvalidArgument).
Result<std::string> Base64Decode(std::string_view text);

// URL-safe alphabet ('-', '_'), no padding: safe in a query value as is.
std::string Base64UrlEncode(std::string_view bytes);
// Inverse of Base64UrlEncode, as strict as Base64Decode (no padding accepted).
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace headcount
