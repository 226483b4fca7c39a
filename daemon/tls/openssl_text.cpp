// Texts of OpenSSL's names, times and errors.
#include "daemon/tls/openssl_text.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>
#include <ctime>

#include "core/printable.hpp"

namespace kaa::tls {
namespace {

// How many of a certificate's names a message lists, and how long one name may be.
constexpr size_t kNamesListed = 6;
constexpr size_t kNameBytes = 120;

/// The text of an IP address entry (4 or 16 bytes), "" for another length.
std::string ip_text(const ASN1_OCTET_STRING* ip) {
    const unsigned char* b = ASN1_STRING_get0_data(ip);
    const int n = ASN1_STRING_length(ip);
    std::array<char, 64> out{};
    if (n == 4) {
        std::snprintf(out.data(), out.size(), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    } else if (n == 16) {
        std::string v6;
        for (int i = 0; i < 16; i += 2) {
            std::snprintf(out.data(), out.size(), "%s%x", i == 0 ? "" : ":",
                          static_cast<unsigned>(b[i] << 8 | b[i + 1]));
            v6 += out.data();
        }
        return v6;
    } else {
        return "";
    }
    return out.data();
}

}  // namespace

std::string name_text(const X509_NAME* name) {
    if (name == nullptr)
        return "(none)";
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == nullptr)
        return "(unknown)";
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string text = n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string("(empty)");
    BIO_free(bio);
    return printable(text, kNameBytes);
}

std::string time_text(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1)
        return "(unknown time)";
    std::array<char, 32> out{};
    std::strftime(out.data(), out.size(), "%Y-%m-%d %H:%M UTC", &tm);
    return out.data();
}

std::vector<std::string> certificate_names(X509* cert) {
    std::vector<std::string> names;
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans != nullptr) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans) && names.size() < kNamesListed; ++i) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
            if (gn->type == GEN_DNS) {
                const auto* s = gn->d.dNSName;
                names.push_back(
                    "DNS:" + printable(std::string_view(
                                           reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                           static_cast<size_t>(ASN1_STRING_length(s))),
                                       kNameBytes));
            } else if (gn->type == GEN_IPADD) {
                names.push_back("IP:" + ip_text(gn->d.iPAddress));
            }
        }
        GENERAL_NAMES_free(sans);
    }
    if (names.empty()) {
        std::array<char, 256> cn{};
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn.data(),
                                      static_cast<int>(cn.size())) > 0) {
            names.push_back("CN:" + printable(cn.data(), kNameBytes));
        }
    }
    return names;
}

std::string take_openssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0)
        return "";
    const char* reason = ERR_reason_error_string(code);
    return reason != nullptr ? printable(reason) : "error " + std::to_string(code);
}

bool is_before(const ASN1_TIME* t, std::chrono::system_clock::time_point now) {
    std::time_t when = std::chrono::system_clock::to_time_t(now);
    return X509_cmp_time(t, &when) < 0;
}

}  // namespace kaa::tls
