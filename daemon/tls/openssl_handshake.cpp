// OpensslInspector::diagnose_handshake: one TLS handshake (and an MQTT CONNECT over it)
// with the daemon's files, verifying as libmosquitto does, to name why the daemon's own
// connection failed.
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "core/tcp_connect.hpp"
#include "daemon/tls/openssl_inspector.hpp"
#include "daemon/tls/openssl_text.hpp"

namespace kaa::tls {
namespace {

// An MQTT 3.1.1 CONNECT (clean session, empty client id): sent once the handshake is done,
// so that a broker refusing the client certificate after the handshake (TLS 1.3) says so.
constexpr std::array<uint8_t, 14> kMqttConnect = {0x10, 12,   0x00, 0x04, 'M',  'Q',  'T',
                                                  'T',  0x04, 0x02, 0x00, 0x0a, 0x00, 0x00};

// How long an alert refusing the client certificate is waited for after the handshake.
constexpr auto kAlertWait = std::chrono::milliseconds(300);

/// The first verification failure of the broker's chain, as OpenSSL reported it.
struct VerifyFailure {
    int error = X509_V_OK;
    int depth = 0;
    X509Ptr cert;  // the certificate at that depth
    X509Ptr leaf;  // the broker's own certificate
};

/// Index of the SSL object's slot holding its VerifyFailure.
int failure_slot() {
    static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return slot;
}

/// Verification callback: notes the first failure and goes on, so that the handshake
/// completes and later failures (a refused client certificate) are seen too.
int note_failure(int ok, X509_STORE_CTX* store) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* failure = static_cast<VerifyFailure*>(SSL_get_ex_data(ssl, failure_slot()));
    if (failure == nullptr)
        return ok;
    const int depth = X509_STORE_CTX_get_error_depth(store);
    if (depth == 0 && !failure->leaf) {
        if (X509* leaf = X509_STORE_CTX_get_current_cert(store); leaf != nullptr) {
            X509_up_ref(leaf);
            failure->leaf.reset(leaf);
        }
    }
    if (ok == 0 && failure->error == X509_V_OK) {
        failure->error = X509_STORE_CTX_get_error(store);
        failure->depth = depth;
        if (X509* cert = X509_STORE_CTX_get_current_cert(store); cert != nullptr) {
            X509_up_ref(cert);
            failure->cert.reset(cert);
        }
    }
    return 1;
}

/// Names joined by ", ".
std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "no name" : out;
}

/// The sentence for a verification failure of the broker's certificate chain.
std::string verify_text(const VerifyFailure& f, const std::string& host, const TlsFiles& files) {
    X509* cert = f.cert ? f.cert.get() : f.leaf.get();
    const std::string which = f.depth == 0 ? "the broker's certificate"
                                           : "a CA certificate of "
                                             "the broker's chain";
    const std::string subject =
        cert != nullptr ? " '" + name_text(X509_get_subject_name(cert)) + "'" : "";
    switch (f.error) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return which + subject + " expired on " +
                   (cert != nullptr ? time_text(X509_get0_notAfter(cert)) : "(unknown)") +
                   ": renew it on the broker (or, if this machine's date is wrong, set its "
                   "clock)";
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return which + subject + " is not valid before " +
                   (cert != nullptr ? time_text(X509_get0_notBefore(cert)) : "(unknown)") +
                   ": check this machine's clock (timedatectl) or the certificate's dates";
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH: {
            const std::string names =
                f.leaf ? joined(certificate_names(f.leaf.get())) : std::string("other names");
            return "the broker's certificate is for " + names + ", not for '" + host +
                   "' (kaa.host): set kaa.host to a name the certificate lists, or have the "
                   "broker's certificate reissued for '" +
                   host + "'";
        }
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_CERT_SIGNATURE_FAILURE: {
            // Said of the broker's own certificate, whichever link of its chain failed.
            X509* leaf = f.leaf ? f.leaf.get() : cert;
            const std::string named =
                leaf != nullptr ? " '" + name_text(X509_get_subject_name(leaf)) + "'" : "";
            const std::string issuer =
                leaf != nullptr ? name_text(X509_get_issuer_name(leaf)) : std::string("?");
            return "the broker's certificate" + named + " is not trusted: it was issued by '" +
                   issuer + "', which kaa.tls.ca_file '" + files.ca_file +
                   "' does not hold; set ca_file to that CA's certificate";
        }
        default:
            return which + subject +
                   " failed verification: " + X509_verify_cert_error_string(f.error);
    }
}

/// The sentence for a handshake the broker (or the protocol) broke off, "" when the port
/// did not speak TLS at all (the port probe explains that).
std::string alert_text(unsigned long code, const TlsFiles& files) {
    const int reason = ERR_GET_REASON(code);
    const char* text = ERR_reason_error_string(code);
    const std::string why = text != nullptr ? text : "error " + std::to_string(code);
    const bool has_cert = !files.cert_file.empty();
    switch (reason) {
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        case SSL_R_PACKET_LENGTH_TOO_LONG:
            return "";
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        case SSL_R_UNSUPPORTED_PROTOCOL:
            return "the broker and this gateway have no TLS version in common (" + why +
                   "; the gateway speaks TLS 1.2 and 1.3): configure the broker for TLS 1.2 or "
                   "newer";
        case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
            if (!has_cert) {
                return "the broker requires a client certificate (" + why +
                       "): set kaa.tls.cert_file and kaa.tls.key_file";
            }
            [[fallthrough]];
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
            if (has_cert) {
                return "the broker refused this gateway's client certificate (kaa.tls.cert_file "
                       "'" +
                       files.cert_file + "'; TLS alert: " + why +
                       "): it must be signed by a CA the broker trusts and be valid";
            }
            [[fallthrough]];
        default:
            return "the TLS handshake failed: " + why;
    }
}

/// Drives a non-blocking OpenSSL call until it succeeds, fails or the deadline comes;
/// returns its last result (<= 0 on failure or timeout).
template <typename Call>
int drive(SSL* ssl, int fd, ProbeClock::time_point deadline, Call call) {
    while (true) {
        const int r = call();
        if (r > 0)
            return r;
        const int e = SSL_get_error(ssl, r);
        const short wanted = e == SSL_ERROR_WANT_READ    ? POLLIN
                             : e == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                         : 0;
        if (wanted == 0 || !wait_for_fd(fd, wanted, deadline))
            return r;
    }
}

/// An SSL context with the daemon's files, verifying the peer; null when a file does not
/// load (check_files names it).
CtxPtr make_context(const TlsFiles& files) {
    CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx)
        return ctx;
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, &note_failure);
    bool loaded = SSL_CTX_load_verify_locations(ctx.get(), files.ca_file.c_str(), nullptr) == 1;
    if (loaded && !files.cert_file.empty()) {
        loaded =
            SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert_file.c_str()) == 1 &&
            SSL_CTX_use_PrivateKey_file(ctx.get(), files.key_file.c_str(), SSL_FILETYPE_PEM) == 1;
    }
    if (!loaded) {
        ERR_clear_error();
        ctx.reset();
    }
    return ctx;
}

/// True when host is a literal IPv4 or IPv6 address.
bool is_ip_address(const std::string& host) {
    std::array<unsigned char, 16> buf{};
    return inet_pton(AF_INET, host.c_str(), buf.data()) == 1 ||
           inet_pton(AF_INET6, host.c_str(), buf.data()) == 1;
}

}  // namespace

std::string OpensslInspector::diagnose_handshake(const std::string& host, int port,
                                                 const TlsFiles& files,
                                                 std::chrono::milliseconds timeout) const {
    const auto deadline = ProbeClock::now() + timeout;
    CtxPtr ctx = make_context(files);
    if (!ctx)
        return "";
    const int fd = connect_tcp(host, port, deadline);
    if (fd < 0)
        return "";
    SslPtr ssl(SSL_new(ctx.get()));
    VerifyFailure failure;
    std::string verdict;
    if (ssl && SSL_set_fd(ssl.get(), fd) == 1 &&
        SSL_set_ex_data(ssl.get(), failure_slot(), &failure) == 1) {
        if (is_ip_address(host)) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str());
        } else {
            SSL_set_tlsext_host_name(ssl.get(), host.c_str());
            SSL_set1_host(ssl.get(), host.c_str());
        }
        ERR_clear_error();
        int r = drive(ssl.get(), fd, deadline, [&] { return SSL_connect(ssl.get()); });
        if (r > 0) {
            // The broker may still refuse the client certificate: TLS 1.3 does so after the
            // handshake, with an alert that comes first; when none comes, a CONNECT and the
            // first bytes of its answer tell.
            std::array<uint8_t, 4> answer{};
            const auto read = [&] {
                return SSL_read(ssl.get(), answer.data(), static_cast<int>(answer.size()));
            };
            r = drive(ssl.get(), fd, std::min(deadline, ProbeClock::now() + kAlertWait), read);
            if (r <= 0 && ERR_peek_error() == 0) {
                r = drive(ssl.get(), fd, deadline, [&] {
                    return SSL_write(ssl.get(), kMqttConnect.data(),
                                     static_cast<int>(kMqttConnect.size()));
                });
                if (r > 0)
                    r = drive(ssl.get(), fd, deadline, read);
            }
        }
        const unsigned long code = ERR_peek_error();
        if (failure.error != X509_V_OK) {
            verdict = verify_text(failure, host, files);
        } else if (r <= 0 && code != 0) {
            verdict = alert_text(code, files);
        }
        ERR_clear_error();
    }
    ssl.reset();
    ::close(fd);
    return verdict;
}

std::string OpensslInspector::describe_session(void* session) const {
    auto* ssl = static_cast<SSL*>(session);
    if (ssl == nullptr)
        return "";
    const char* version = SSL_get_version(ssl);
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    std::string out = version != nullptr ? version : "TLS";
    if (cipher != nullptr)
        out += std::string(", ") + SSL_CIPHER_get_name(cipher);
    return out;
}

}  // namespace kaa::tls
