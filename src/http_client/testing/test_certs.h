// Self-signed certificates made at test time with OpenSSL's C API, for the
// HTTP client's TLS tests: no certificate files in the repository to expire.
// Thread-safe (no shared state); for tests only.
#pragma once

#include <string>

namespace headcount::http_client::testing {

struct TestCertificate {
  std::string cert_pem;  // the certificate, its own CA (basicConstraints CA:TRUE)
  std::string key_pem;   // its private key (EC P-256)
};

// A certificate for `dns_name` (CN and the only subjectAltName, DNS:<name>),
// valid from an hour ago for a day. Aborts the test process on failure.
TestCertificate MakeSelfSignedCertificate(const std::string& dns_name);

// Writes `text` to a new file in the temporary directory and returns its path.
std::string WriteTempFile(const std::string& name, const std::string& text);

}  // namespace headcount::http_client::testing
