// The timed-metadata payload that rides in the stream (docs/metadata.md):
// v1 is compact JSON, e.g.
//   {"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[120,134,null,161,170],"trend":"rising"}
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/samples.h"

namespace headcount {

// IVS PutMetadata's limit, and ours everywhere.
inline constexpr std::size_t kMaxPayloadBytes = 1024;

// Encodes `summary` as payload v1. Always valid JSON of at most
// kMaxPayloadBytes (at most ~190 bytes: every field has a bounded width).
std::string EncodePayloadV1(const Summary& summary);

// Encodes `summary` in the seed's own format, for players built for the
// original: the counts joined by commas, newest first ("170,161,,134,120"),
// an empty field for a bucket with no sample.
std::string EncodePayloadSeed(const Summary& summary);

// Decodes and validates a v1 payload (strict: known fields, right types,
// exactly kWindowBuckets counts, none negative). `channel` is not in the
// payload and is left empty.
Result<Summary> DecodePayloadV1(std::string_view json);

}  // namespace headcount
