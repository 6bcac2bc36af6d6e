#include "cluster/shared_tick.h"

#include <nlohmann/json.hpp>

#include "core/payload.h"

namespace headcount {
namespace {

using json = nlohmann::json;

json Notes(const std::vector<ChannelNote>& notes) {
  json out = json::array();
  for (const ChannelNote& n : notes) out.push_back({n.channel, n.stage, n.reason});
  return out;
}

std::vector<ChannelNote> ReadNotes(const json& in) {
  std::vector<ChannelNote> out;
  for (const json& n : in) {
    out.push_back(
        {n.at(0).get<std::string>(), n.at(1).get<std::string>(), n.at(2).get<std::string>()});
  }
  return out;
}

}  // namespace

std::string EncodeSharedTick(const TickReport& report) {
  json summaries = json::array();
  for (const Summary& s : report.summaries) summaries.push_back({s.channel, EncodePayloadV1(s)});
  const json j = {
      {"bucket", report.bucket.time_since_epoch().count()},
      {"seen", report.seen},
      {"stored", report.stored},
      {"published", report.published},
      {"skipped", Notes(report.skipped)},
      {"failed", Notes(report.failed)},
      {"duration_us", report.duration.count()},
      {"summaries", std::move(summaries)},
  };
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<TickReport> DecodeSharedTick(std::string_view text) {
  try {
    const json j = json::parse(text);
    TickReport report;
    report.bucket = Seconds(std::chrono::seconds(j.at("bucket").get<std::int64_t>()));
    report.seen = j.at("seen").get<std::size_t>();
    report.stored = j.at("stored").get<std::size_t>();
    report.published = j.at("published").get<std::size_t>();
    report.skipped = ReadNotes(j.at("skipped"));
    report.failed = ReadNotes(j.at("failed"));
    report.duration = std::chrono::microseconds(j.at("duration_us").get<std::int64_t>());
    for (const json& s : j.at("summaries")) {
      Result<Summary> summary = DecodePayloadV1(s.at(1).get<std::string>());
      if (!summary.ok()) {
        return Error::InvalidArgument("shared tick: a bad payload: " + summary.error().message());
      }
      summary->channel = s.at(0).get<std::string>();
      report.summaries.push_back(std::move(*summary));
    }
    return report;
  } catch (const json::exception& e) {
    return Error::InvalidArgument(std::string("shared tick: not a report: ") + e.what());
  }
}

}  // namespace headcount
