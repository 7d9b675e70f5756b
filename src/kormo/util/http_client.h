// What the HTTP clients (synth's teacher client, eval --endpoint) share: the CA file for
// https and naming a failed request's cause (the URL itself: kormo/util/url.h).
//
// Header-only on purpose: util links neither cpp-httplib nor OpenSSL; only modules that
// link both (PkgConfig::HTTPLIB, OpenSSL::Crypto) include this.
//
// Promises:
//  - https verifies the server's certificate and host name: against `ca_file` when given,
//    else against the system store (httplib falls back to OpenSSL's default verify paths,
//    which honour SSL_CERT_FILE / SSL_CERT_DIR).
//  - A rejected certificate is described with OpenSSL's reason, not only "SSL server
//    verification failed".
#pragma once

#include <httplib.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "kormo/util/error.h"
#include "kormo/util/url.h"

namespace kormo {

// `ca_file`: a PEM bundle that replaces the system store ("" keeps the system store).
// Read here once so that a missing or malformed file is an error naming it: httplib loads
// it at the first connection only, and later connections would just fail verification.
inline std::unique_ptr<httplib::Client> make_http_client(const HttpUrl& url, const std::string& ca_file) {
  if (!ca_file.empty()) {
    const std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
    if (!store || X509_STORE_load_file(store.get(), ca_file.c_str()) != 1)
      fail_io("{}: not a readable PEM file of CA certificates", ca_file);
  }
  auto c = std::make_unique<httplib::Client>(url.origin);
  if (!ca_file.empty()) c->set_ca_cert_path(ca_file);
  // httplib writes a request's headers and body separately: with Nagle's algorithm the body
  // waits for the server's delayed ACK of the headers, 40 ms a request on Linux (it halved
  // the teacher client's rate against an instant endpoint).
  c->set_tcp_nodelay(true);
  return c;
}

inline bool is_tls_error(httplib::Error e) {
  return e == httplib::Error::SSLConnection || e == httplib::Error::SSLLoadingCerts ||
         e == httplib::Error::SSLServerVerification;
}

// httplib's name for `e`, with the reason OpenSSL gave when the certificate was rejected.
inline std::string describe_http_error(const httplib::Client& c, httplib::Error e, const std::string& ca_file) {
  std::string s = httplib::to_string(e);
  if (e == httplib::Error::SSLServerVerification) {
    // httplib checks the host name itself after OpenSSL accepted the chain.
    const long v = c.get_openssl_verify_result();
    s += v == X509_V_OK ? std::string(": the certificate does not name this host")
                        : std::string(": ") + X509_verify_cert_error_string(v);
    s += ca_file.empty() ? " (checked against the system CA store)" : " (checked against " + ca_file + ")";
  } else if (e == httplib::Error::SSLLoadingCerts) {
    s += ": " + (ca_file.empty() ? std::string("the system CA store") : ca_file);
  }
  return s;
}

}  // namespace kormo
