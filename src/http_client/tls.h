// The TLS client context of the HTTP client: peers verified against a CA
// bundle, TLS 1.2 or later. Not thread-safe to build; the context it
// returns may be shared by connections on one strand.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "core/result.h"

namespace headcount::http_client {

// A client context that verifies every peer: against the PEM bundle
// `ca_file` when it is not empty, else OpenSSL's default paths (which honour
// SSL_CERT_FILE and SSL_CERT_DIR, else the system store, /etc/ssl/certs on
// Debian). Host names are checked per connection (exchange.cc). Fails with
// kInvalidArgument naming `ca_file` when it cannot be read or holds no
// certificate.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsClientContext(const std::string& ca_file);

}  // namespace headcount::http_client
