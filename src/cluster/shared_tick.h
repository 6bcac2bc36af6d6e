// A tick's report as the lease holder shares it with the other nodes
// (TickLease::Complete): compact JSON of the report's numbers, notes and
// summaries. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/tick.h"

namespace headcount {

// `report` as JSON: bucket, numbers, notes and each summary (its channel and
// its v1 payload, core/payload.h).
std::string EncodeSharedTick(const TickReport& report);

// The report EncodeSharedTick wrote; kInvalidArgument for anything else.
Result<TickReport> DecodeSharedTick(std::string_view json);

}  // namespace headcount
