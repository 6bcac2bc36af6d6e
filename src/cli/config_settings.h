// The table behind Config: for every setting, how it is read from text
// (file, environment, flag) and written back as text (its default in --help
// and README.md). Internal to src/cli/config*.cc; immutable, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "cli/config.h"

namespace headcount::config_internal {

struct Setting {
  SettingSpec spec;
  // Parses `text` into the Config; the error says why, not where.
  Status (*set)(Config& config, const std::string& text);
  // The setting's value in `config` as text that `set` reads back (empty
  // for an unset list, tag or key file).
  std::string (*show)(const Config& config);
};

// Every setting, in the order of --help and README.md's table.
const std::vector<Setting>& AllSettings();

}  // namespace headcount::config_internal
