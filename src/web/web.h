// The web pages `headcount serve` serves: the dashboard at /, the player at
// /watch/{channel} and /watch?src=, and their scripts at /static/<file>, all compiled into the
// binary (embedded_files.h). A pure handler, no sockets; thread-safe.
#pragma once

#include <string_view>

#include "server/http.h"

namespace headcount {

// Routes (GET and HEAD only; another method -> 405 with Allow: GET, HEAD):
//   /                   index.html (the dashboard)
//   /watch/{channel}    watch.html (the player, with hls.js); channel must be
//                       a valid id (core IsValidChannelId), else 404
//   /watch              watch.html too (its script then plays ?src=<playback
//                       URL> with the Amazon IVS web player and checks src),
//                       with a CSP that also allows WebAssembly and fetches
//                       from any http(s) origin
//   /static/<file>      an embedded script, style sheet or image, by file name
// Anything else -> 404 with {"error":"..."}. Every answer carries the
// security headers (Content-Security-Policy, Referrer-Policy; the HTTP server
// adds X-Content-Type-Options: nosniff to every response) and a Cache-Control:
// no-cache for pages, a short max-age for static files.
HttpResponse HandleWeb(const HttpRequest& request);

// True for the paths HandleWeb answers: "/", "/watch", "/watch/...", "/static/...".
// A router sends these to HandleWeb.
bool ServesWeb(std::string_view path);

}  // namespace headcount
