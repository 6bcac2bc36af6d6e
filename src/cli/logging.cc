// Process-wide logging set-up: spdlog to stderr with UTC timestamps.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

namespace headcount {

void SetupLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("headcount");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace headcount
