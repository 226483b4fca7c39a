// OpensslInspector::check_files: the contents of kaa.tls's files, read without connecting.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstring>

#include "daemon/tls/openssl_inspector.hpp"
#include "daemon/tls/openssl_text.hpp"

namespace kaa::tls {
namespace {

using BioPtr = std::unique_ptr<BIO, OpensslFree<BIO, BIO_free_all>>;

// A CA bundle holds a few certificates; more than this is not read.
constexpr int kMaxCaCertificates = 500;

/// The file opened for reading by OpenSSL, or null with `why` set.
BioPtr open_file(const std::string& path, std::string& why) {
    errno = 0;
    BioPtr bio(BIO_new_file(path.c_str(), "rb"));
    if (!bio) {
        why = errno != 0 ? std::strerror(errno) : take_openssl_error();
        ERR_clear_error();
    }
    return bio;
}

/// The PEM certificates in the file (at most kMaxCaCertificates).
std::vector<X509Ptr> read_certificates(BIO* bio) {
    std::vector<X509Ptr> certs;
    while (certs.size() < static_cast<size_t>(kMaxCaCertificates)) {
        X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
        if (cert == nullptr)
            break;
        certs.emplace_back(cert);
    }
    ERR_clear_error();  // the end of the file reads as "no start line"
    return certs;
}

/// A passphrase callback that has none to give: an encrypted key fails to load.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

/// Adds the problems of a certificate's validity period at `now`; `where` names the file
/// and what it holds ("'ca.pem' holds the CA certificate").
void check_validity(X509* cert, const std::string& key, const std::string& where,
                    std::chrono::system_clock::time_point now, std::vector<TlsFileProblem>& out) {
    const std::string what = where + " '" + name_text(X509_get_subject_name(cert)) + "'";
    if (is_before(X509_get0_notAfter(cert), now)) {
        out.push_back({key,
                       what + ", which expired on " + time_text(X509_get0_notAfter(cert)) +
                           ": install a renewed certificate (or, if this machine's date is "
                           "wrong, set its clock)",
                       true});
    } else if (!is_before(X509_get0_notBefore(cert), now)) {
        out.push_back({key,
                       what + ", which is not valid before " +
                           time_text(X509_get0_notBefore(cert)) +
                           ": check this machine's clock (timedatectl) or the certificate's "
                           "dates",
                       false});
    }
}

/// The problems of the CA file: no certificate in it, or one out of its validity period.
void check_ca(const std::string& path, std::chrono::system_clock::time_point now,
              std::vector<TlsFileProblem>& out) {
    std::string why;
    BioPtr bio = open_file(path, why);
    if (!bio) {
        out.push_back({"ca_file", "'" + path + "' cannot be read: " + why, true});
        return;
    }
    const auto cas = read_certificates(bio.get());
    if (cas.empty()) {
        out.push_back({"ca_file",
                       "'" + path +
                           "' holds no PEM certificate (a '-----BEGIN CERTIFICATE-----' "
                           "block): ca_file must be the certificate of the CA that signed the "
                           "broker's certificate",
                       true});
        return;
    }
    for (const auto& ca : cas)
        check_validity(ca.get(), "ca_file", "'" + path + "' holds the CA certificate", now, out);
}

}  // namespace

std::vector<TlsFileProblem> OpensslInspector::check_files(
    const TlsFiles& files, std::chrono::system_clock::time_point now) const {
    std::vector<TlsFileProblem> out;
    if (!files.ca_file.empty())
        check_ca(files.ca_file, now, out);
    if (files.cert_file.empty() || files.key_file.empty())
        return out;
    std::string why;
    X509Ptr cert;
    if (BioPtr bio = open_file(files.cert_file, why); !bio) {
        out.push_back({"cert_file", "'" + files.cert_file + "' cannot be read: " + why, true});
    } else if (cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)); !cert) {
        ERR_clear_error();
        out.push_back({"cert_file",
                       "'" + files.cert_file +
                           "' holds no PEM certificate (a '-----BEGIN CERTIFICATE-----' block)",
                       true});
    } else {
        check_validity(cert.get(), "cert_file",
                       "'" + files.cert_file + "' holds the client certificate", now, out);
    }
    PkeyPtr key;
    if (BioPtr bio = open_file(files.key_file, why); !bio) {
        out.push_back({"key_file", "'" + files.key_file + "' cannot be read: " + why, true});
    } else if (key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
               !key) {
        const std::string reason = take_openssl_error();
        const bool encrypted = reason.find("bad decrypt") != std::string::npos ||
                               reason.find("password") != std::string::npos ||
                               reason.find("interrupted or cancelled") != std::string::npos;
        out.push_back(
            {"key_file",
             "'" + files.key_file + "' " +
                 (encrypted ? "is an encrypted private key: the daemon cannot ask for its "
                              "passphrase; store it decrypted (openssl pkey -in KEY -out "
                              "NEW_KEY) and readable only by root and the kaa-gateway group"
                            : "holds no PEM private key (" + reason + ")"),
             true});
    }
    if (cert && key && X509_check_private_key(cert.get(), key.get()) != 1) {
        ERR_clear_error();
        out.push_back({"key_file",
                       "'" + files.key_file + "' does not match cert_file '" + files.cert_file +
                           "' (certificate '" + name_text(X509_get_subject_name(cert.get())) +
                           "'): it is not that certificate's private key; give the key the "
                           "certificate was issued for",
                       true});
    }
    return out;
}

}  // namespace kaa::tls
