// HTTP as a seam for the AWS layer: the request/response values and the
// HttpTransport interface of http_client (message.h, transport.h) under the
// names the AWS code uses, and the endpoint URL rule. The real transport is
// http_client::BeastTransport. Thread-safe as its parts are.
#pragma once

#include <string_view>

#include "core/result.h"
#include "http_client/message.h"
#include "http_client/transport.h"
#include "net/url.h"

namespace headcount::aws {

using http_client::FindHeader;
using http_client::HttpHeader;
using http_client::HttpHeaders;
using http_client::HttpRequest;
using http_client::HttpResponse;
using http_client::HttpTransport;
using http_client::kDefaultConnectTimeout;
using http_client::kDefaultMaxResponseBytes;
using http_client::kDefaultRequestTimeout;

// Parses a service endpoint such as "https://dynamodb.us-east-1.amazonaws.com"
// or "http://127.0.0.1:8000": an absolute http(s) URL (ParseUrl, net/url.h:
// the one URL type and convention of the program) with neither query nor
// fragment, which requests to it could not keep. kInvalidArgument naming
// what is wrong, never quoting the URL.
Result<Url> ParseEndpointUrl(std::string_view text);

}  // namespace headcount::aws
