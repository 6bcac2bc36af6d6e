// IvsSource: the live channels of an AWS account and their viewer counts,
// read from Amazon IVS (ListStreams, paginated; ListChannels for the tag
// filter and offline channels). Thread-safe: Poll keeps no
// state between calls and AwsClient is thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "aws/aws_client.h"
#include "core/clock.h"
#include "core/tick.h"
#include "ivs/ivs_options.h"

namespace headcount {

// At most this many warnings about bad entries are logged per Poll; the
// rest are counted in one summary line.
inline constexpr int kMaxEntryWarningsPerPoll = 10;

// One channel per reading; ChannelId is the channel ARN.
class IvsSource final : public Source {
 public:
  // `client` talks to IVS and must outlive this. `options` must pass
  // ValidateIvsOptions (the factory checks it).
  IvsSource(aws::AwsClient& client, const Clock& clock, IvsOptions options);

  // Reads every page of ListStreams (maxResults kIvsListPageSize, following
  // nextToken) within options.poll_timeout and returns one reading per live
  // channel (options.channels, when set, keeps only those; a tag filter,
  // options.channel_tag_key, keeps only the channels whose ListChannels
  // summary carries that tag with that value: every ListChannels page is
  // read first, and a failure there fails the Poll, since without it the
  // wanted channels are unknown):
  //  - viewerCount -1 ("not available yet") is re-read with GetStream, at
  //    most options.max_unknown_retries times per Poll; what stays -1 is a
  //    reading with viewers = nullopt (a gap, never -1);
  //  - an entry that is not an object, lacks a valid channelArn, or has a
  //    state of the wrong type is skipped with a logged warning; one whose
  //    state is not LIVE is left out (debug log); a missing viewerCount
  //    reads as unknown (the model marks it optional), and so does one of
  //    the wrong type, below -1 or above kMaxPlausibleViewers (with a
  //    warning): the channel stays in the tick, its bucket a gap;
  //  - with options.include_offline, channels from ListChannels that are not
  //    live are added with 0 viewers (one ListChannels pass serves both this
  //    and the tag filter); without a tag filter a ListChannels failure only logs.
  // Fails only when ListStreams does: the AwsClient error kind is kept
  // (kUnavailable: IVS could not be reached; kRejected: it said no, or its
  // answer was unreadable; kDeadlineExceeded), and kRejected when the pages
  // pass options.max_list_pages, their entries max_list_pages *
  // kIvsListPageSize, or a page repeats the previous token.
  Result<std::vector<ChannelReading>> Poll(WallTime now, const Deadline& deadline) override;

 private:
  struct PollState;

  // Follows one List* operation's pages (aws::ReadAllPages); calls
  // `on_entry` for each element of `list_field`. Error as described for Poll.
  template <typename OnEntry>
  Status ReadPages(std::string_view operation, std::string_view list_field, WallTime deadline,
                   const OnEntry& on_entry);
  // Reads one stream summary into `out`, or warns and returns false.
  bool ParseStream(const nlohmann::json& entry, PollState& state, ChannelReading& out);
  // Every page of ListChannels: the ARNs of the channels that pass the tag
  // filter (every valid one when there is none), in listing order, once each.
  Status ListChannelArns(WallTime deadline, PollState& state, std::vector<std::string>& out);
  // GetStream for a channel that said -1; its count, or nullopt.
  std::optional<std::int64_t> RetryUnknown(const std::string& arn, WallTime deadline);

  aws::AwsClient& client_;
  const Clock& clock_;
  const IvsOptions options_;
};

}  // namespace headcount
