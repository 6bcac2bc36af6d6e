// What the credentials tests share: example secrets, a scratch directory,
// a container endpoint answer, and RFC 3339 times.
#pragma once

#include <string>

#include "core/clock.h"
#include "core/testing/files.h"
#include "core/testing/time.h"
#include "core/time_text.h"

namespace headcount::aws::testing {

inline constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
inline constexpr char kToken[] = "FQoGZXIvYXdzEXAMPLETOKENxyz";

using headcount::testing::At;

using headcount::testing::TempDir;

// The container endpoint's answer for `key`, expiring at `expiration`.
inline std::string ContainerJson(const std::string& key, const std::string& expiration) {
  return R"({"AccessKeyId":")" + key + R"(","SecretAccessKey":")" + kSecret + R"(","Token":")" +
         kToken + R"(","Expiration":")" + expiration + R"("})";
}

}  // namespace headcount::aws::testing
