// Read access to stored samples for the HTTP API and `headcount history`.
// Implementations say whether they are thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "core/audience.h"
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
  // The channels with a sample with from <= bucket <= to, sorted, at most
  // `limit` of them. By default kInvalidArgument: a store whose only index
  // is by channel (DynamoDB) cannot list them without reading every item.
  virtual Result<std::vector<ChannelId>> Channels(Seconds /*from*/, Seconds /*to*/,
                                                  std::size_t /*limit*/) {
    return Error::InvalidArgument("this store cannot list its channels without reading all of it");
  }
  // `channel`'s audience by `period` over from <= bucket <= to, oldest
  // first (core/audience.h). By default summed up here from History(); a
  // store with a query language does it there.
  virtual Result<std::vector<AudienceSummary>> Audience(const ChannelId& channel, Seconds from,
                                                        Seconds to, AudiencePeriod period) {
    auto samples = History(channel, from, to);
    if (!samples.ok()) return samples.error();
    return SummarizeAudience(*samples, period);
  }
};

}  // namespace headcount
