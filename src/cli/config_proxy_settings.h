// The settings of proxy mode (`serve --upstream`), as rows of the settings
// table take them: Set* parses and checks one value into the Config (errors
// say why, never a secret's value), Show* writes it back (secrets as
// `Name: ***` / `name=***`). Internal to src/cli/config*.cc.
#pragma once

#include <chrono>
#include <string>

#include "cli/config.h"
#include "core/result.h"

namespace headcount::config_internal {

// The shortest timeout a setting takes; the longest origin.upstream_timeout.
inline constexpr std::chrono::seconds kMinTimeout{1};
inline constexpr std::chrono::seconds kMaxUpstreamTimeout = std::chrono::minutes{5};

Status SetUpstream(Config& c, const std::string& v);
Status SetChannels(Config& c, const std::string& v);
std::string ShowChannels(const Config& c);
Status SetUpstreamTimeout(Config& c, const std::string& v);
Status SetUpstreamCacheSize(Config& c, const std::string& v);
Status SetUpstreamCaFile(Config& c, const std::string& v);
// One header ("Name: value") or parameter ("name=value") a line.
Status SetUpstreamHeaders(Config& c, const std::string& v);
Status SetUpstreamQuery(Config& c, const std::string& v);
std::string ShowUpstreamHeaders(const Config& c);
std::string ShowUpstreamQuery(const Config& c);

}  // namespace headcount::config_internal
