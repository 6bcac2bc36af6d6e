// The payload inside the media segments the origin serves: each MPEG-TS
// segment gets it as an ID3 TXXX frame in a timed-metadata stream
// (hls/id3_ts.h), each fMP4 media segment as an ID3 emsg box before its
// moof (hls/emsg.h). A rewrite is made once per segment version and payload
// and kept in a cache bounded in bytes; the upstream proxy's segments that
// are still arriving are rewritten as they arrive (RewriteArrivingTs,
// RewriteFmp4Head). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "origin/upstream_body.h"

namespace headcount {

// Segments larger than this are served as they are (ffmpeg's are a few MB
// at most): a rewrite holds the whole segment in memory.
inline constexpr std::size_t kMaxRewrittenSegmentBytes = 32 << 20;
// An init segment larger than this is not read (ffmpeg's are about 1 KB).
inline constexpr std::size_t kMaxInitSegmentBytes = 1 << 20;
// Rewritten segments kept in memory, in bytes; the oldest go first. A few
// live windows of a few channels; a miss only costs one more rewrite.
inline constexpr std::size_t kSegmentCacheBytes = 128 << 20;
// What a "serve as is" entry counts against the cache's bytes (its key and
// bookkeeping), so that such entries are bounded in number too.
inline constexpr std::size_t kAsIsEntryBytes = 256;

// What goes into a segment: the payload and its event id.
struct SegmentPayload {
  std::string payload;           // the JSON document, as published
  std::uint32_t id = 0;          // emsg id: the summary's bucket, in epoch seconds
  std::uint64_t generation = 0;  // changes whenever the payload does
};

enum class SegmentKind { kTransportStream, kFmp4 };

// The bytes of an fMP4 segment's init segment, or nullopt when unknown.
using InitFinder = std::function<std::optional<std::string>()>;

// The largest head of an fMP4 segment (the bytes through its first moof)
// held while the segment arrives (the upstream proxy): a moof is a few KB.
inline constexpr std::size_t kMaxFmp4HeadBytes = std::size_t{1} << 20;

// For an fMP4 media segment that arrives piece by piece: `head` is its
// first bytes through its first moof (FindFirstMoofEnd), `init` its init
// segment. The head with the ID3 emsg of `payload` before the moof (the
// rest of the segment follows unchanged); nullopt when it cannot be
// rewritten (logged at debug): then the segment goes out as it is.
std::optional<std::string> RewriteFmp4Head(std::string_view head, std::string_view init,
                                           const SegmentPayload& payload);

class SegmentMetadata {
 public:
  // Keeps at most `cache_bytes` of rewritten segments.
  explicit SegmentMetadata(std::size_t cache_bytes = kSegmentCacheBytes)
      : cache_bytes_(cache_bytes) {}
  SegmentMetadata(const SegmentMetadata&) = delete;
  SegmentMetadata& operator=(const SegmentMetadata&) = delete;

  // The bytes to serve for the segment at `path`, whose identity (path and
  // file version) is `version_key`, carrying `payload`:
  //  - TS: InjectId3 with one TXXX tag (empty description, the payload); with
  //    no payload the PMT still declares the metadata stream, so every
  //    segment of a stream declares the same program;
  //  - fMP4: InsertId3Emsg, its clock from the init segment (the segment's
  //    EXT-X-MAP) that `find_init` returns, called only when the rewrite is
  //    not cached (it reads files); with no payload or no init, nullptr.
  // nullptr means "serve the file as it is": unreadable, too large, or not a
  // segment the writers understand (logged at debug; remembered like a
  // rewrite, except a failed read, so such a file is not read again per
  // request). Concurrent misses for one key may each rewrite; the cache
  // keeps one.
  std::shared_ptr<const std::string> Rewrite(const std::filesystem::path& path,
                                             const std::string& version_key, SegmentKind kind,
                                             const std::optional<SegmentPayload>& payload,
                                             const InitFinder& find_init);

  // The same for a segment already in memory (the upstream proxy's), whose
  // identity is `version_key`; `name` is for log lines only.
  std::shared_ptr<const std::string> RewriteBytes(const std::string& name,
                                                  const std::string& version_key, SegmentKind kind,
                                                  const std::optional<SegmentPayload>& payload,
                                                  const std::shared_ptr<const std::string>& bytes,
                                                  const InitFinder& find_init);

  // A TS segment that arrives piece by piece (the upstream proxy's `raw`
  // body, whose identity is `version_key`) rewritten as it arrives
  // (Id3TsStream): made once per version and payload and shared by every
  // viewer who asks while it arrives; once complete, kept in the cache as
  // RewriteBytes's would be. Its bytes start once the head holds what the
  // rewrite needs; they are the raw ones when it cannot be rewritten.
  std::shared_ptr<UpstreamBody> RewriteArrivingTs(const std::string& version_key,
                                                  const std::optional<SegmentPayload>& payload,
                                                  const std::shared_ptr<UpstreamBody>& raw);

  // Bytes held by the cache now, for tests and metrics.
  std::size_t CachedBytes();

 private:
  // Rewrite and RewriteBytes: `read` gives the segment's bytes.
  std::shared_ptr<const std::string> RewriteWith(const std::string& name,
                                                 const std::string& version_key, SegmentKind kind,
                                                 const std::optional<SegmentPayload>& payload,
                                                 const std::function<Result<std::string>()>& read,
                                                 const InitFinder& find_init);
  // The cached answer for `key` (nullptr: serve as is), or nullopt on a miss.
  std::optional<std::shared_ptr<const std::string>> Lookup(const std::string& key);
  // Caches `bytes` (nullptr: serve as is), dropping the oldest entries to stay
  // within cache_bytes_.
  void Insert(const std::string& key, std::shared_ptr<const std::string> bytes);
  // What an entry counts against cache_bytes_.
  static std::size_t Cost(const std::shared_ptr<const std::string>& bytes);

  const std::size_t cache_bytes_;

  // Guarded by mu_: the cache (nullptr: serve as is), its insertion order
  // (eviction order) and size.
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> cache_;
  std::deque<std::string> order_;
  std::size_t bytes_ = 0;
  // Rewrites of TS segments still arriving, by cache key.
  std::unordered_map<std::string, std::weak_ptr<UpstreamBody>> arriving_;
};

}  // namespace headcount
