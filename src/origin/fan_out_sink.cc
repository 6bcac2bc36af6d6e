#include "origin/fan_out_sink.h"

#include <algorithm>
#include <utility>

namespace headcount {
namespace {

std::vector<ViewerSink*> WithoutNulls(std::vector<ViewerSink*> sinks) {
  std::erase(sinks, nullptr);
  return sinks;
}

}  // namespace

FanOutSink::FanOutSink(std::vector<ViewerSink*> sinks) : sinks_(WithoutNulls(std::move(sinks))) {}

void FanOutSink::Seen(Kind kind, std::string_view channel, const SessionTable::Key& key,
                      WallTime now) {
  for (ViewerSink* sink : sinks_) sink->Seen(kind, channel, key, now);
}

void FanOutSink::Gone(Kind kind, std::string_view channel, const SessionTable::Key& key) {
  for (ViewerSink* sink : sinks_) sink->Gone(kind, channel, key);
}

void FanOutSink::FirstReport(Kind kind, std::string_view channel, const SessionTable::Key& key,
                             WallTime now, Sighting sighting) {
  for (ViewerSink* sink : sinks_) sink->FirstReport(kind, channel, key, now, sighting);
}

bool FanOutSink::SharesFirstReports() const {
  return std::ranges::any_of(sinks_, [](const ViewerSink* s) { return s->SharesFirstReports(); });
}

bool FanOutSink::RefusedOldToken(std::string_view channel, const SessionTable::Key& key,
                                 WallTime now) {
  return std::ranges::any_of(sinks_,
                             [&](ViewerSink* s) { return s->RefusedOldToken(channel, key, now); });
}

}  // namespace headcount
