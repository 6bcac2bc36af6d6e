// A ViewerSink that tells several sinks what the viewer tables say: a
// cluster's shared viewers and the distinct viewers' sketches, say.
// Thread-safe when its sinks are (ViewerSink requires them to be).
#pragma once

#include <vector>

#include "origin/viewer_sink.h"

namespace headcount {

class FanOutSink final : public ViewerSink {
 public:
  // The sinks, in the order they are told; null ones are left out. They
  // must outlive this. At most one should decide first reports (a
  // cluster's); each is told of them, and a token counts as refused when
  // any refused it.
  explicit FanOutSink(std::vector<ViewerSink*> sinks);

  void Seen(Kind kind, std::string_view channel, const SessionTable::Key& key,
            WallTime now) override;
  void Gone(Kind kind, std::string_view channel, const SessionTable::Key& key) override;
  void FirstReport(Kind kind, std::string_view channel, const SessionTable::Key& key, WallTime now,
                   Sighting sighting) override;
  // True when any sink shares first reports.
  bool SharesFirstReports() const override;
  bool RefusedOldToken(std::string_view channel, const SessionTable::Key& key,
                       WallTime now) override;

 private:
  const std::vector<ViewerSink*> sinks_;
};

}  // namespace headcount
