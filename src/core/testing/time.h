// Instants for tests, written as the RFC 3339 text a reader checks them by.
#pragma once

#include <gtest/gtest.h>

#include <string_view>

#include "core/clock.h"
#include "core/time_text.h"

namespace headcount::testing {

// The instant `rfc3339` names. A malformed literal fails the test that wrote
// it (and yields the epoch) rather than crashing the binary.
inline WallTime At(std::string_view rfc3339) {
  Result<WallTime> t = ParseRfc3339(rfc3339);
  if (!t.ok()) {
    ADD_FAILURE() << "not an RFC 3339 time: " << rfc3339;
    return WallTime{};
  }
  return *t;
}

}  // namespace headcount::testing
