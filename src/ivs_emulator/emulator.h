// IvsEmulator: an in-process Amazon IVS (the ListChannels, ListStreams,
// GetStream, BatchGetChannel and PutMetadata subset of its REST-JSON API, SigV4-verified and
// quota-limited) plus unsigned /_emulator/ test endpoints, as one pure
// HttpHandler for HttpServer. Thread-safe: Handle() may run on many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/token_bucket.h"
#include "ivs_emulator/channels.h"
#include "ivs_emulator/playback.h"
#include "ivs_emulator/sigv4_verifier.h"
#include "server/http.h"

namespace headcount::ivs_emulator {

inline constexpr std::size_t kDefaultMetadataLogCapacity = 100'000;
inline constexpr std::size_t kMaxMetadataBytes = 1024;  // IVS: "Maximum: 1 KB per request"
inline constexpr std::int64_t kMinPageSize = 1;
inline constexpr std::int64_t kMaxPageSize = 100;
inline constexpr std::int64_t kDefaultPageSize = 100;  // the model's "Default: 100"
inline constexpr double kDefaultChannelTps = 5;        // IVS default PutMetadata quotas
inline constexpr double kDefaultAccountTps = 155;

// A request's JSON body (defined in emulator.cc, keeps JSON out of this header).
struct RequestBody;

struct EmulatorOptions {
  ChannelSetOptions channels;
  // The one key pair whose signatures are accepted.
  std::string access_key_id = "test";
  std::string secret_access_key = "test";
  // PutMetadata quotas, requests per second (burst = the rate); 0 disables.
  double put_metadata_tps_per_channel = kDefaultChannelTps;
  double put_metadata_tps_per_account = kDefaultAccountTps;
  // Accepted PutMetadata calls kept for GET /_emulator/metadata (oldest dropped).
  std::size_t metadata_log_capacity = kDefaultMetadataLogCapacity;
  // When set, GET /playback/<channel-id>.m3u8 plays DIR/<channel-id>/stream.m3u8
  // with each PutMetadata payload in it as ID3 (playback.h), and GetStream's
  // playbackUrl points there.
  std::filesystem::path playback_dir;

  // kInvalidArgument naming the first bad field (region, account id, key
  // pair, rates, capacity, channel count, offline fraction).
  Status Validate() const;
};

// One accepted PutMetadata.
struct MetadataRecord {
  std::string channel_arn;
  std::string metadata;
  WallTime time;
};

class IvsEmulator {
 public:
  // `clock` drives signatures' freshness, quotas and viewer counts; it must
  // outlive this. `options` must be valid (see Validate()).
  IvsEmulator(EmulatorOptions options, const Clock& clock);
  IvsEmulator(const IvsEmulator&) = delete;
  IvsEmulator& operator=(const IvsEmulator&) = delete;

  // Answers one request:
  //  - POST /ListChannels, /ListStreams, /GetStream, /BatchGetChannel, /PutMetadata: verified
  //    with SigV4 (403 with the AWS error type when not), then answered as
  //    IVS does: JSON bodies, errors as status + x-amzn-ErrorType + a JSON
  //    body with "exceptionMessage" (the model's member) and "message".
  //  - /_emulator/...: unsigned test endpoints, for loopback clients only
  //    (403 otherwise): GET metadata[?channelArn=], GET stats, GET channels,
  //    POST channels/{id} {"state","viewers","health"}, POST reset.
  // Anything else: 404 UnknownOperationException (after the signature check).
  HttpResponse Handle(const HttpRequest& request);

  // Accepted PutMetadata calls, oldest first (all channels if `channel_arn` is empty).
  std::vector<MetadataRecord> Metadata(const std::string& channel_arn = {}) const;
  // ARNs of every channel, in listing order.
  std::vector<std::string> ChannelArns() const;

 private:
  struct OperationStats {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
  };

  HttpResponse HandleIvs(const HttpRequest& request, const std::string& operation);
  HttpResponse HandleTestApi(const HttpRequest& request);
  // The operations; each requires mu_ held and gets the parsed JSON body.
  HttpResponse ListChannels(const RequestBody& body);
  HttpResponse ListStreams(const RequestBody& body, WallTime now);
  HttpResponse GetStream(const RequestBody& body, WallTime now, const std::string& host);
  HttpResponse BatchGetChannel(const RequestBody& body, const std::string& host);
  HttpResponse PutMetadata(const RequestBody& body, WallTime now);
  HttpResponse SetChannel(const std::string& id, const std::string& body, WallTime now);
  HttpResponse Stats() const;
  HttpResponse ChannelsJson(WallTime now);
  // Rebuilds channels, quotas, the metadata log and the stats as at `now`.
  // Requires mu_ held.
  void ResetLocked(WallTime now);

  const EmulatorOptions options_;
  const VerifierConfig verifier_;
  const Clock& clock_;
  const std::unique_ptr<Playback> playback_;  // null without options_.playback_dir

  mutable std::mutex mu_;
  // Guarded by mu_.
  std::unique_ptr<ChannelSet> channels_;
  TokenBucket account_bucket_;
  std::unordered_map<std::size_t, TokenBucket> channel_buckets_;  // by channel index
  std::deque<MetadataRecord> metadata_log_;
  std::uint64_t metadata_dropped_ = 0;
  std::map<std::string, OperationStats> operation_stats_;
  std::uint64_t throttled_ = 0;
  std::uint64_t auth_failures_ = 0;
  std::uint64_t request_counter_ = 0;  // for x-amzn-RequestId
};

}  // namespace headcount::ivs_emulator
