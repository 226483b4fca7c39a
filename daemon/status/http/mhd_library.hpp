#pragma once
// MhdLibrary: libmicrohttpd's few functions the status page uses, loaded with dlopen the
// first time status.http is configured. Linked, libmicrohttpd brought GnuTLS, p11-kit,
// nettle, gmp and five more into every daemon (2.4 MiB of RSS, issue 16), although the
// page is off by default; loaded on demand they cost nothing until someone turns it on.

#include <microhttpd.h>

#include <string>

#include "core/result.hpp"

namespace kaa::status {

/// libmicrohttpd's entry points, resolved from the shared library.
struct MhdLibrary {
    decltype(&MHD_start_daemon) start_daemon = nullptr;
    decltype(&MHD_stop_daemon) stop_daemon = nullptr;
    decltype(&MHD_create_response_from_buffer) create_response_from_buffer = nullptr;
    decltype(&MHD_add_response_header) add_response_header = nullptr;
    decltype(&MHD_queue_response) queue_response = nullptr;
    decltype(&MHD_destroy_response) destroy_response = nullptr;

    /// The library of Debian's libmicrohttpd12, loaded once and kept for the process's life.
    static Result<const MhdLibrary*> get();
    /// Loads `soname` and resolves every entry point; an error says which package to install.
    static Result<MhdLibrary> load(const std::string& soname);
};

/// The shared object the daemon loads (the SONAME libmicrohttpd-dev links against).
inline constexpr const char* kMhdSoname = "libmicrohttpd.so.12";

}  // namespace kaa::status
