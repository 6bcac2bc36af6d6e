// The TLS client context of the HTTP client: peers verified against a CA
// bundle, TLS 1.2 or later. Not thread-safe to build; the context it
// returns may be shared by connections on one strand.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
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

// Makes `ssl`'s handshake check that the peer's certificate is for `host`:
// an IP address against the certificate's IP addresses, a name against its
// DNS names (and sent as SNI; never an IP address). OpenSSL checks it during
// verification, so a mismatch fails the handshake with
// X509_V_ERR_HOSTNAME_MISMATCH or X509_V_ERR_IP_ADDRESS_MISMATCH.
void ExpectPeerName(SSL* ssl, const std::string& host);

// What a failed handshake's `ec` means: with the certificate verification's
// reason when that is what failed ("certificate verify failed: self-signed
// certificate"), else ec's message.
std::string DescribeHandshakeError(const boost::system::error_code& ec, const SSL* ssl);

}  // namespace headcount::http_client
