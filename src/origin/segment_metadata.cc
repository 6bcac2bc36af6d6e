// Timed metadata in served segments, and the cache of rewrites (see
// segment_metadata.h).
#include "origin/segment_metadata.h"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "core/small_file.h"
#include "hls/bmff.h"
#include "hls/emsg.h"
#include "hls/id3_ts.h"

namespace headcount {
namespace {

// TXXX description: empty, as Amazon IVS sends PutMetadata (players that
// read IVS streams read the value alone).
constexpr std::string_view kTxxxDescription = "";

}  // namespace

std::optional<std::string> RewriteFmp4Head(std::string_view head, std::string_view init,
                                           const SegmentPayload& payload) {
  Result<Fmp4Timescales> timescales = ReadTimescales(init);
  Result<std::string> rewritten =
      timescales.ok() ? InsertId3Emsg(head, *timescales,
                                      Id3TxxxTag(kTxxxDescription, payload.payload), payload.id)
                      : Result<std::string>(timescales.error());
  if (!rewritten.ok()) {
    spdlog::debug("origin: segment served without metadata: {}", rewritten.error().ToString());
    return std::nullopt;
  }
  return std::move(*rewritten);
}

std::shared_ptr<const std::string> SegmentMetadata::Rewrite(
    const std::filesystem::path& path, const std::string& version_key, SegmentKind kind,
    const std::optional<SegmentPayload>& payload, const InitFinder& find_init) {
  return RewriteWith(
      path.string(), version_key, kind, payload,
      [&] { return ReadSmallFile(path, kMaxRewrittenSegmentBytes); }, find_init);
}

std::shared_ptr<const std::string> SegmentMetadata::RewriteBytes(
    const std::string& name, const std::string& version_key, SegmentKind kind,
    const std::optional<SegmentPayload>& payload, const std::shared_ptr<const std::string>& bytes,
    const InitFinder& find_init) {
  return RewriteWith(
      name, version_key, kind, payload,
      [&]() -> Result<std::string> {
        if (bytes->size() > kMaxRewrittenSegmentBytes) {
          return Error::InvalidArgument(name + " is larger than " +
                                        std::to_string(kMaxRewrittenSegmentBytes) + " bytes");
        }
        return *bytes;
      },
      find_init);
}

std::shared_ptr<const std::string> SegmentMetadata::RewriteWith(
    const std::string& name, const std::string& version_key, SegmentKind kind,
    const std::optional<SegmentPayload>& payload, const std::function<Result<std::string>()>& read,
    const InitFinder& find_init) {
  if (kind == SegmentKind::kFmp4 && !payload) return nullptr;
  const std::string key =
      version_key + '\n' + (payload ? std::to_string(payload->generation) : std::string("-"));
  if (std::optional<std::shared_ptr<const std::string>> hit = Lookup(key)) return *hit;

  std::optional<std::string> init_segment;
  if (kind == SegmentKind::kFmp4) {
    init_segment = find_init ? find_init() : std::nullopt;
    if (!init_segment) {
      spdlog::debug("origin: {} served without metadata: no init segment maps it", name);
      return nullptr;
    }
  }
  Result<std::string> segment = read();
  if (!segment.ok()) {
    spdlog::debug("origin: segment served as it is: {}", segment.error().ToString());
    // Too large stays too large; a file that vanished or failed to read may
    // be back on the next request.
    if (segment.error().code() == ErrorCode::kInvalidArgument) Insert(key, nullptr);
    return nullptr;
  }
  const std::string tag = payload ? Id3TxxxTag(kTxxxDescription, payload->payload) : std::string();
  Result<std::string> rewritten = Error::Internal("unset");
  if (kind == SegmentKind::kTransportStream) {
    rewritten =
        InjectId3(*segment, payload ? std::vector<std::string>{tag} : std::vector<std::string>{});
  } else {
    Result<Fmp4Timescales> timescales = ReadTimescales(*init_segment);
    rewritten = timescales.ok() ? InsertId3Emsg(*segment, *timescales, tag, payload->id)
                                : Result<std::string>(timescales.error());
  }
  if (!rewritten.ok()) {
    spdlog::debug("origin: {} served without metadata: {}", name, rewritten.error().ToString());
    Insert(key, nullptr);  // the same bytes fail the same way: do not read them again
    return nullptr;
  }
  auto bytes = std::make_shared<const std::string>(std::move(*rewritten));
  Insert(key, bytes);
  return bytes;
}

std::shared_ptr<UpstreamBody> SegmentMetadata::RewriteArrivingTs(
    const std::string& version_key, const std::optional<SegmentPayload>& payload,
    const std::shared_ptr<UpstreamBody>& raw) {
  const std::string key =
      version_key + '\n' + (payload ? std::to_string(payload->generation) : std::string("-"));
  auto out = std::make_shared<UpstreamBody>(std::nullopt);
  {
    std::lock_guard lock(mu_);
    std::weak_ptr<UpstreamBody>& slot = arriving_[key];
    if (std::shared_ptr<UpstreamBody> shared = slot.lock()) return shared;
    slot = out;
  }
  auto injector = std::make_shared<Id3TsStream>(
      payload ? std::vector<std::string>{Id3TxxxTag(kTxxxDescription, payload->payload)}
              : std::vector<std::string>{});
  const std::optional<std::uint64_t> raw_length = raw->content_length();
  // The raw body's readers run one at a time: the injector needs no lock.
  const auto append = [out, injector, raw_length,
                       started = std::make_shared<bool>(false)](std::string bytes) {
    if (bytes.empty()) return;
    if (!*started && injector->added()) {
      *started = true;
      out->SetContentLength(raw_length
                                ? std::optional<std::uint64_t>(*raw_length + *injector->added())
                                : std::nullopt);
    }
    out->Append(std::move(bytes));
  };
  raw->Read({.on_piece =
                 [append, injector](const std::shared_ptr<const std::string>& piece) {
                   append(injector->Feed(*piece));
                   return true;
                 },
             .on_end =
                 [this, key, out, append, injector](bool complete) {
                   if (complete) append(injector->Finish());
                   out->End(complete);
                   if (std::shared_ptr<const std::string> whole = out->Whole()) Insert(key, whole);
                   std::lock_guard lock(mu_);
                   if (const auto it = arriving_.find(key);
                       it != arriving_.end() && it->second.lock() == out) {
                     arriving_.erase(it);
                   }
                 }});
  return out;
}

std::size_t SegmentMetadata::CachedBytes() {
  std::lock_guard lock(mu_);
  return bytes_;
}

std::optional<std::shared_ptr<const std::string>> SegmentMetadata::Lookup(const std::string& key) {
  std::lock_guard lock(mu_);
  const auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

std::size_t SegmentMetadata::Cost(const std::shared_ptr<const std::string>& bytes) {
  return bytes ? bytes->size() : kAsIsEntryBytes;
}

void SegmentMetadata::Insert(const std::string& key, std::shared_ptr<const std::string> bytes) {
  const std::size_t cost = Cost(bytes);
  if (cost > cache_bytes_) return;
  std::lock_guard lock(mu_);
  if (cache_.contains(key)) return;
  while (!order_.empty() && bytes_ + cost > cache_bytes_) {
    const auto oldest = cache_.find(order_.front());
    bytes_ -= Cost(oldest->second);
    cache_.erase(oldest);
    order_.pop_front();
  }
  bytes_ += cost;
  order_.push_back(key);
  cache_.emplace(key, std::move(bytes));
}

}  // namespace headcount
