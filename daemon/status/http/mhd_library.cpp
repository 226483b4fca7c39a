// Loading libmicrohttpd at run time (status.http) instead of linking it.
#include "daemon/status/http/mhd_library.hpp"

#include <dlfcn.h>

#include <fmt/format.h>

namespace kaa::status {
namespace {

/// dlerror()'s text, or a stand-in when it has none.
std::string last_dl_error() {
    const char* e = ::dlerror();
    return e == nullptr ? std::string("unknown error") : std::string(e);
}

/// Resolves `name` in `handle` into `fn`; false when it is missing.
template <typename Fn>
bool resolve(void* handle, const char* name, Fn& fn) {
    fn = reinterpret_cast<Fn>(::dlsym(handle, name));
    return fn != nullptr;
}

}  // namespace

Result<MhdLibrary> MhdLibrary::load(const std::string& soname) {
    // Kept loaded: the server's thread runs in it until the process ends.
    void* handle = ::dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        return make_error(ErrorKind::kUnavailable,
                          fmt::format("status.http needs libmicrohttpd ({}: {}); install the "
                                      "Debian package libmicrohttpd12",
                                      soname, last_dl_error()));
    }
    MhdLibrary lib;
    const char* missing = nullptr;
    if (!resolve(handle, "MHD_start_daemon", lib.start_daemon))
        missing = "MHD_start_daemon";
    else if (!resolve(handle, "MHD_stop_daemon", lib.stop_daemon))
        missing = "MHD_stop_daemon";
    else if (!resolve(handle, "MHD_create_response_from_buffer", lib.create_response_from_buffer))
        missing = "MHD_create_response_from_buffer";
    else if (!resolve(handle, "MHD_add_response_header", lib.add_response_header))
        missing = "MHD_add_response_header";
    else if (!resolve(handle, "MHD_queue_response", lib.queue_response))
        missing = "MHD_queue_response";
    else if (!resolve(handle, "MHD_destroy_response", lib.destroy_response))
        missing = "MHD_destroy_response";
    if (missing != nullptr) {
        ::dlclose(handle);
        return make_error(ErrorKind::kUnavailable,
                          fmt::format("status.http: {} has no {}: not the libmicrohttpd this "
                                      "gateway was built for",
                                      soname, missing));
    }
    return lib;
}

Result<const MhdLibrary*> MhdLibrary::get() {
    static const Result<MhdLibrary> loaded = load(kMhdSoname);
    if (!loaded)
        return loaded.error();
    return &loaded.value();
}

}  // namespace kaa::status
