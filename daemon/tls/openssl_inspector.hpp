#pragma once
// OpensslInspector: the TlsInspector over OpenSSL (the library libmosquitto uses too).

#include "core/tls_inspector.hpp"

namespace kaa::tls {

/// Reads TLS files and tries handshakes with OpenSSL to say exactly what is wrong.
class OpensslInspector final : public TlsInspector {
  public:
    std::vector<TlsFileProblem> check_files(
        const TlsFiles& files, std::chrono::system_clock::time_point now) const override;
    std::string diagnose_handshake(const std::string& host, int port, const TlsFiles& files,
                                   std::chrono::milliseconds timeout) const override;
    std::string describe_session(void* session) const override;
};

}  // namespace kaa::tls
