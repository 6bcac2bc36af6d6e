// Read access to stored samples for the HTTP API and `headcount history`.
// Implementations say whether they are thread-safe.
#pragma once

#include <vector>

#include "core/result.h"
#include "core/samples.h"

namespace headcount {

class HistoryReader {
 public:
  virtual ~HistoryReader() = default;
  HistoryReader() = default;
  HistoryReader(const HistoryReader&) = delete;
  HistoryReader& operator=(const HistoryReader&) = delete;

  // Samples of `channel` with from <= bucket <= to, oldest first.
  virtual Result<std::vector<Sample>> History(const ChannelId& channel, Seconds from,
                                              Seconds to) = 0;
  // True if at least one sample of `channel` is stored.
  virtual Result<bool> HasChannel(const ChannelId& channel) = 0;
};

}  // namespace headcount
