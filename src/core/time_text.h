// Text forms of time: RFC 3339 instants ("2026-11-25T12:03:00Z", also with
// "+0000"/"+00:00" offsets and fractions, as ffmpeg writes them) and
// durations ("5s", "30d", "1h30m"). Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace headcount {

// "2026-11-25T12:03:00Z".
std::string FormatRfc3339(Seconds t);
// "2026-11-25T12:03:00.250Z" (milliseconds).
std::string FormatRfc3339Millis(WallTime t);

// Parses "YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|+hhmm|+hh|-...)". Rejects
// anything else, including out-of-range fields and instants a WallTime cannot
// hold (before 1678 or after 2262).
Result<WallTime> ParseRfc3339(std::string_view text);

// Parses a duration: one or more <integer><unit> with unit ms, s, m, h or d
// ("5s", "90s", "1h30m", "30d"). Rejects empty, negative, unit-less and
// overflowing input.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// "5s", "1m30s", "30d": the shortest form ParseDuration reads back.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace headcount
