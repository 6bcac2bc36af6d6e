// Test helper: builds an HttpRequest for the emulator signed with SigV4 by
// aws/sigv4, as the server would hand it to the handler. Pure; for tests.
#pragma once

#include <string>

#include "aws/sigv4.h"
#include "core/strings.h"
#include "server/http.h"

namespace headcount::ivs_emulator::testing {

struct SignOptions {
  std::string access_key_id = "test";
  std::string secret_access_key = "test";
  std::string region = "us-west-2";
  std::string service = "ivs";
  std::string host = "127.0.0.1:4510";
};

// POST /<operation> with `body`, signed at `time`.
inline HttpRequest SignedRequest(const std::string& operation, const std::string& body,
                                 WallTime time, const SignOptions& opt = {}) {
  aws::SigningRequest signing;
  signing.method = "POST";
  signing.path = "/" + operation;
  signing.headers = {{"Host", opt.host}, {"Content-Type", "application/json"}};
  signing.body = body;
  aws::SigningParams params;
  params.service = opt.service;
  params.region = opt.region;
  params.time = time;
  auto signed_request =
      aws::SignRequest(signing, aws::Credentials(opt.access_key_id, opt.secret_access_key), params);
  HttpRequest request;
  request.method = "POST";
  request.target = "/" + operation;
  request.path = "/" + operation;
  request.client_address = "127.0.0.1";
  request.body = body;
  for (const auto& h : signing.headers) request.headers[AsciiLower(h.name)] = h.value;
  if (signed_request.ok()) {
    for (const auto& h : signed_request->headers_to_add) {
      request.headers[AsciiLower(h.name)] = h.value;
    }
  }
  return request;
}

// An unsigned request to a test endpoint from the loopback address.
inline HttpRequest TestApiRequest(const std::string& method, const std::string& path,
                                  const std::string& body = {}) {
  HttpRequest request;
  request.method = method;
  request.target = path;
  const auto q = path.find('?');
  request.path = path.substr(0, q);
  if (q != std::string::npos) {
    auto parsed = ParseTarget(path);
    if (parsed.ok()) request.query = parsed->query;
  }
  request.client_address = "127.0.0.1";
  request.body = body;
  return request;
}

}  // namespace headcount::ivs_emulator::testing
