// MakeTlsClientContext: verify_peer, TLS >= 1.2, the CA bundle chosen once.
#include "http_client/tls.h"

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

}  // namespace headcount::http_client
