// MakeTlsClientContext: verify_peer, TLS >= 1.2, the CA bundle chosen once.
#include "http_client/tls.h"

#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

namespace headcount::http_client {

Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsClientContext(
    const std::string& ca_file) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  context->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return Error::InvalidArgument("tls: cannot use the system CA store: " + ec.message());
  } else {
    context->load_verify_file(ca_file, ec);
    if (ec) {
      return Error::InvalidArgument("tls: cannot load CA file " + ca_file + ": " + ec.message());
    }
  }
  return context;
}

void ExpectPeerName(SSL* ssl, const std::string& host) {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(host, ec);
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set1_host(ssl, host.c_str());
  }
}

std::string DescribeHandshakeError(const boost::system::error_code& ec, const SSL* ssl) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) return ec.message() + ": " + X509_verify_cert_error_string(verify);
  return ec.message();
}

}  // namespace headcount::http_client
