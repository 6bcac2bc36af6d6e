// The origin's proxy mode, media: segments, parts and init sections from
// the UpstreamFetcher, whole (cached) or as they arrive (UpstreamBody), with
// the segment metadata (see Origin::Handle).
#include <spdlog/spdlog.h>

#include <utility>

#include "hls/bmff.h"
#include "origin/origin.h"
#include "server/http_stream.h"

namespace headcount {
namespace {

// A viewer's stream of a body that arrives: the pieces are the body's own
// (shared, not copied), so a viewer's unsent bytes cost nothing the body
// does not hold already, up to the body's bound.
std::shared_ptr<HttpStream> MediaStream(std::optional<std::uint64_t> content_length) {
  HttpStreamOptions options;
  options.max_pending_bytes = kMaxUpstreamMediaBytes;
  options.content_length = content_length;
  options.chunked = true;
  return std::make_shared<HttpStream>(std::move(options));
}

// Sends `head` at once with the body of `live` following as it arrives;
// a body that breaks off breaks the response off.
void StreamBody(HttpResponse head, const std::shared_ptr<UpstreamBody>& live,
                HttpResponder respond) {
  std::shared_ptr<HttpStream> stream = MediaStream(live->content_length());
  head.stream = stream;
  respond.Respond(std::move(head));
  live->Read({.on_piece =
                  [stream](const std::shared_ptr<const std::string>& piece) {
                    return stream->Write(piece);
                  },
              .on_end = [stream](bool complete) { complete ? stream->End() : stream->Fail(); }});
}

// Runs `then` with the whole body of `file` once it is complete (null if
// it broke off): at once for a whole file, else when the body ends.
void WhenWhole(const std::shared_ptr<const UpstreamFile>& file,
               std::function<void(std::shared_ptr<const std::string>)> then) {
  if (!file->live) return then(file->body);
  // Weak: the body holds its readers (while it arrives, its fetch holds it).
  const std::weak_ptr<UpstreamBody> weak = file->live;
  file->live->Read({.on_piece = nullptr, .on_end = [weak, then = std::move(then)](bool complete) {
                      const std::shared_ptr<UpstreamBody> live = weak.lock();
                      then(complete && live ? live->Whole() : nullptr);
                    }});
}

// A body made from another as it arrives (a TS rewrite), sent from its
// first piece on, when its length is known: the head waits for that piece.
// A body that ends before its first piece is sent empty (complete) or
// answered 502 (broken off).
class FirstPieceStreamer : public std::enable_shared_from_this<FirstPieceStreamer> {
 public:
  FirstPieceStreamer(HttpResponse head, HttpResponder respond)
      : response_(std::move(head)), respond_(std::move(respond)) {}

  void Start(const std::shared_ptr<UpstreamBody>& body) {
    body->Read(
        {.on_piece =
             [self = shared_from_this(), weak = std::weak_ptr<UpstreamBody>(body)](
                 const std::shared_ptr<const std::string>& piece) {
               if (!self->stream_) self->Respond(weak.lock());
               return self->stream_->Write(piece);
             },
         .on_end =
             [self = shared_from_this(), weak = std::weak_ptr<UpstreamBody>(body)](bool complete) {
               if (!self->stream_) {
                 if (!complete) {
                   return self->respond_.Respond(HttpResponse::Error(502, "upstream broke off"));
                 }
                 self->Respond(weak.lock());
               }
               complete ? self->stream_->End() : self->stream_->Fail();
             }});
  }

 private:
  void Respond(const std::shared_ptr<UpstreamBody>& body) {
    stream_ = MediaStream(body ? body->content_length() : std::nullopt);
    response_.stream = stream_;
    respond_.Respond(std::move(response_));
  }

  HttpResponse response_;
  HttpResponder respond_;
  std::shared_ptr<HttpStream> stream_;  // only touched by the body's readers, one at a time
};

// An fMP4 segment that arrives, sent with the ID3 emsg before its first
// moof: its head is held until that moof is whole (at most
// kMaxFmp4HeadBytes), rewritten, and sent; the rest follows as it arrives.
// A head that cannot be rewritten goes out as it is; a body that breaks
// off before the head went out is a 502.
class Fmp4Streamer : public std::enable_shared_from_this<Fmp4Streamer> {
 public:
  Fmp4Streamer(HttpResponse head, std::string init, SegmentPayload payload,
               std::optional<std::uint64_t> content_length, HttpResponder respond)
      : response_(std::move(head)),
        init_(std::move(init)),
        payload_(std::move(payload)),
        content_length_(content_length),
        respond_(std::move(respond)) {}

  void Start(const std::shared_ptr<UpstreamBody>& live) {
    live->Read({.on_piece =
                    [self = shared_from_this()](const std::shared_ptr<const std::string>& piece) {
                      return self->OnPiece(piece);
                    },
                .on_end = [self = shared_from_this()](bool complete) { self->OnEnd(complete); }});
  }

 private:
  bool OnPiece(const std::shared_ptr<const std::string>& piece) {
    if (stream_) return stream_->Write(piece);
    head_ += *piece;
    const MoofSearch found = FindFirstMoofEnd(head_);
    if (!found.moof_end && !found.hopeless && head_.size() < kMaxFmp4HeadBytes) return true;
    Send(found.moof_end);
    return !stream_->closed();
  }

  void OnEnd(bool complete) {
    if (!stream_) {
      if (!complete) {
        return respond_.Respond(HttpResponse::Error(502, "upstream broke off"));
      }
      Send(FindFirstMoofEnd(head_).moof_end);
    }
    complete ? stream_->End() : stream_->Fail();
  }

  // Sends the head (rewritten through `moof_end` when it can be) and what
  // came after it so far.
  void Send(std::optional<std::size_t> moof_end) {
    std::string out = std::move(head_);
    std::optional<std::uint64_t> length = content_length_;
    if (moof_end) {
      const std::string_view through(out.data(), *moof_end);
      if (std::optional<std::string> rewritten = RewriteFmp4Head(through, init_, payload_)) {
        if (length) *length += rewritten->size() - through.size();
        *rewritten += std::string_view(out).substr(*moof_end);
        out = std::move(*rewritten);
      }
    }
    stream_ = MediaStream(length);
    response_.stream = stream_;
    respond_.Respond(std::move(response_));
    stream_->Write(std::make_shared<const std::string>(std::move(out)));
  }

  HttpResponse response_;
  const std::string init_;
  const SegmentPayload payload_;
  const std::optional<std::uint64_t> content_length_;
  HttpResponder respond_;
  // Only touched by the body's readers, one at a time (under its lock).
  std::string head_;
  std::shared_ptr<HttpStream> stream_;
};

}  // namespace

void Origin::ServeUpstreamMedia(const HttpRequest& request, const std::string& channel,
                                const std::string& path,
                                const std::shared_ptr<const UpstreamFile>& file,
                                HttpResponder respond) {
  if (file->live && request.method == "HEAD") {
    // A HEAD gets the head a GET would get, whose length may depend on all
    // of the body (its rewrite): answered once the body is whole.
    auto responder = std::make_shared<HttpResponder>(std::move(respond));
    return WhenWhole(file, [this, request, channel, path, file,
                            responder](const std::shared_ptr<const std::string>& body) {
      if (!body) return responder->Respond(HttpResponse::Error(502, "upstream broke off"));
      auto whole = std::make_shared<UpstreamFile>(*file);
      whole->live.reset();
      whole->body = body;
      ServeUpstreamMedia(request, channel, path, whole, std::move(*responder));
    });
  }
  const WallTime now = clock_.Now();
  if (request.method != "HEAD") {
    if (const std::optional<std::string> id = request.Query(kSessionParameter)) {
      // The answer does not matter: media is served either way.
      (void)sessions_.Touch(channel, *id, now, Activity::kMedia, request.client_address);
    }
  }
  auto response = std::make_shared<HttpResponse>();
  response->status = file->status;
  response->content_type = std::string(MediaContentType(path.substr(path.rfind('/') + 1)));
  if (!file->content_range.empty()) {
    response->headers.emplace_back("Content-Range", file->content_range);
  }
  if (options_.cacheable) {
    response->headers.emplace_back("Cache-Control", CacheableSegmentControl());
  } else if (!file->cache_control.empty()) {
    response->headers.emplace_back("Cache-Control", file->cache_control);
  }

  const bool ts = path.ends_with(".ts");
  // fMP4 media segments are .m4s (ffmpeg, OvenMediaEngine) or .mp4 (MediaMTX);
  // an .mp4 that no playlist lists as a segment (an init section, a part)
  // has no init section to be found below and goes out as it is.
  const bool fmp4 = path.ends_with(".m4s") || path.ends_with(".mp4");
  std::optional<SegmentPayload> payload;
  if (file->status == 200 && options_.segment_metadata && (ts || fmp4)) {
    payload = LatestSegmentPayload(channel, now);
  }
  // No metadata to add (fMP4 needs a payload; .ts always gets the stream).
  if (file->status != 200 || !options_.segment_metadata || (!ts && !fmp4) || (fmp4 && !payload)) {
    if (file->live) return StreamBody(std::move(*response), file->live, std::move(respond));
    response->shared_body = file->body;
    return respond.Respond(std::move(*response));
  }
  const std::string version_key =
      "upstream " + channel + "/" + path + "\n" + std::to_string(file->fetch_id);
  // The whole segment rewritten, once per version and payload (the cache
  // of SegmentMetadata): a segment from the cache.
  const auto rewrite = [this, path, version_key, ts, payload, response](
                           const std::shared_ptr<const std::string>& body,
                           std::optional<std::string> init, HttpResponder& out) {
    if (!body) return out.Respond(HttpResponse::Error(502, "upstream broke off"));
    const std::shared_ptr<const std::string> bytes = segment_metadata_.RewriteBytes(
        path, version_key, ts ? SegmentKind::kTransportStream : SegmentKind::kFmp4, payload, body,
        [&init] { return init; });
    response->shared_body = bytes ? bytes : body;
    out.Respond(std::move(*response));
  };
  auto responder = std::make_shared<HttpResponder>(std::move(respond));
  if (ts) {
    if (!file->live) return rewrite(file->body, std::nullopt, *responder);
    // Rewritten as it arrives, once for every viewer meanwhile; its bytes
    // start when its head holds the PMT and its streams' first PTS.
    return std::make_shared<FirstPieceStreamer>(std::move(*response), std::move(*responder))
        ->Start(segment_metadata_.RewriteArrivingTs(version_key, payload, file->live));
  }
  // fMP4: the emsg's clock is the init section's, from the playlist that
  // maps this segment (fetched like any media, so usually cached).
  const std::optional<Url> init_url = upstream_channels_.InitUrlFor(channel, path);
  const auto serve = [file, rewrite, response, payload,
                      responder](const std::shared_ptr<const std::string>& init) {
    if (!file->live) {
      return rewrite(file->body, init ? std::optional<std::string>(*init) : std::nullopt,
                     *responder);
    }
    if (!init) return StreamBody(std::move(*response), file->live, std::move(*responder));
    std::make_shared<Fmp4Streamer>(std::move(*response), *init, *payload,
                                   file->live->content_length(), std::move(*responder))
        ->Start(file->live);
  };
  if (!init_url) return serve(nullptr);
  fetcher_->Fetch(
      UpstreamFetch{.kind = UpstreamKind::kMedia, .url = init_url->ToString(), .group = channel},
      [serve](Result<std::shared_ptr<const UpstreamFile>> r) {
        if (!r.ok() || (*r)->status != 200) return serve(nullptr);
        WhenWhole(*r, serve);
      });
}

}  // namespace headcount
