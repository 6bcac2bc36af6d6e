// CurlTransport: libcurl easy handles pooled under a mutex, so connections
// stay open between requests. Thread-safe.
#include "aws/http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <utility>

#include "core/strings.h"

namespace headcount::aws {
namespace {

// What one transfer collects from curl's callbacks.
struct Transfer {
  HttpResponse response;
  std::size_t max_body_bytes = 0;
  bool body_too_large = false;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (transfer->response.body.size() + n > transfer->max_body_bytes) {
    transfer->body_too_large = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, n);
  return n;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line = Trim(std::string_view(data, n));
  if (line.starts_with("HTTP/")) {
    // A new response (after a 100 Continue): forget the previous headers.
    transfer->response.headers.clear();
  } else if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    transfer->response.headers.push_back(
        {std::string(line.substr(0, colon)), std::string(Trim(line.substr(colon + 1)))});
  }
  return n;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

void GlobalInitOnce() {
  static const bool kInitialized = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)kInitialized;
}

}  // namespace

const std::string* FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const HttpHeader& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h.value;
  }
  return nullptr;
}

namespace {
std::string CaFileFromEnvironment() {
  const char* path = std::getenv("SSL_CERT_FILE");  // NOLINT(concurrency-mt-unsafe): at start-up
  return path == nullptr ? std::string() : std::string(path);
}
}  // namespace

CurlTransport::CurlTransport() : ca_file_(CaFileFromEnvironment()) { GlobalInitOnce(); }

CurlTransport::~CurlTransport() {
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* CurlTransport::TakeHandle() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void CurlTransport::ReturnHandle(void* handle) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdleCurlHandles) {
    idle_.push_back(handle);
    return;
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

Result<HttpResponse> CurlTransport::Send(const HttpRequest& request) {
  for (const HttpHeader& h : request.headers) {
    if (h.name.find_first_of(":\r\n") != std::string::npos ||
        h.value.find_first_of("\r\n") != std::string::npos) {
      return Error::InvalidArgument("http: header " + h.name + " has a forbidden character");
    }
  }
  CURL* curl = static_cast<CURL*>(TakeHandle());
  if (curl == nullptr) return Error::Internal("http: cannot create a libcurl handle");
  // Reset clears the options but keeps the handle's open connections.
  curl_easy_reset(curl);

  Transfer transfer;
  transfer.max_body_bytes = request.max_response_bytes;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  for (const HttpHeader& h : request.headers) {
    // "Name;" sends an empty header ("Name:" would remove curl's own).
    add_header(h.value.empty() ? h.name + ";" : h.name + ": " + h.value);
  }
  add_header("Expect:");  // no 100-continue round trip for our small bodies
  if (!FindHeader(request.headers, "Accept")) add_header("Accept:");

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!ca_file_.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file_.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<std::int64_t>(1, request.connect_timeout.count())));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<std::int64_t>(1, request.timeout.count())));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    if (request.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }

  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  ReturnHandle(curl);

  if (transfer.body_too_large) {
    return Error::Rejected("http: response body from " + request.url + " is larger than " +
                           std::to_string(request.max_response_bytes) + " bytes");
  }
  if (rc != CURLE_OK) {
    return Error::Unavailable("http: " + request.method + " " + request.url + ": " +
                              curl_easy_strerror(rc));
  }
  transfer.response.status = static_cast<int>(status);
  return std::move(transfer.response);
}

Result<Url> ParseEndpointUrl(std::string_view text) {
  Result<Url> url = ParseUrl(text);
  if (!url.ok()) return url.error();
  if (url->query || url->fragment) {
    return Error::InvalidArgument("an endpoint URL must not have a query or fragment");
  }
  return url;
}

}  // namespace headcount::aws
