#pragma once
// Small OpenSSL helpers shared by the TLS inspector's parts: owning handles, and the
// texts of names, times and errors as they appear in the gateway's messages.

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace kaa::tls {

/// Frees an OpenSSL object with its own free function.
template <typename T, void (*Free)(T*)>
struct OpensslFree {
    void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, OpensslFree<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpensslFree<EVP_PKEY, EVP_PKEY_free>>;
using CtxPtr = std::unique_ptr<SSL_CTX, OpensslFree<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpensslFree<SSL, SSL_free>>;

/// A certificate's subject (or issuer) as one RFC 2253 line ("CN=broker,O=Plant"), bounded.
std::string name_text(const X509_NAME* name);

/// A certificate time as "2026-01-31 23:59 UTC".
std::string time_text(const ASN1_TIME* t);

/// The names a certificate is for: its subjectAltName DNS and IP entries ("DNS:broker",
/// "IP:10.0.0.5"), or its CN when it has none; at most a few.
std::vector<std::string> certificate_names(X509* cert);

/// The reason of OpenSSL's oldest queued error ("certificate verify failed"), "" when none;
/// the queue is emptied.
std::string take_openssl_error();

/// True when `t` is before `now`.
bool is_before(const ASN1_TIME* t, std::chrono::system_clock::time_point now);

}  // namespace kaa::tls
