#pragma once
// TlsInspector: what the gateway needs to know about TLS material and a broker's TLS answer,
// in words an installer can act on. The core owns the interface; the implementation over
// OpenSSL (daemon/tls/) is known only to the composition root, which hands it to the
// configuration loader (`--check`) and to the MQTT client (connection failures).

#include <chrono>
#include <string>
#include <vector>

namespace kaa {

/// The files of a TLS connection (kaa.tls); cert_file and key_file are empty without a
/// client certificate.
struct TlsFiles {
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
};

/// A problem found in TLS files: the kaa.tls key it is about ("ca_file", "cert_file",
/// "key_file"), the sentence with the fix, and whether no connection can work with it
/// (fatal) or it may still change by itself (a certificate not valid yet).
struct TlsFileProblem {
    std::string key;
    std::string text;
    bool fatal = true;
};

/// Looks inside TLS files and at a broker's TLS handshake.
class TlsInspector {
  public:
    virtual ~TlsInspector() = default;
    /// Problems with the files' contents at `now`: no certificate in ca_file, a file that
    /// does not parse, a certificate expired or not yet valid, a key that is not the
    /// certificate's. Empty when they are fine. Never connects.
    virtual std::vector<TlsFileProblem> check_files(
        const TlsFiles& files, std::chrono::system_clock::time_point now) const = 0;
    /// Why a TLS handshake with host:port using `files` fails, as a sentence naming the
    /// cause (broker certificate untrusted, expired, for another name; client certificate
    /// refused; no TLS version in common) and the fix; "" when the handshake succeeds or
    /// the port does not speak TLS at all. Blocks the caller for at most `timeout`.
    virtual std::string diagnose_handshake(const std::string& host, int port, const TlsFiles& files,
                                           std::chrono::milliseconds timeout) const = 0;
    /// A few words on an established TLS session ("TLSv1.3, TLS_AES_256_GCM_SHA384"),
    /// given the TLS library's session handle; "" for a null handle.
    virtual std::string describe_session(void* session) const = 0;
};

}  // namespace kaa
