// kaa.auth.password_file, read when connecting.
#include "daemon/kaa/password_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace kaa::uplink {
namespace {

// A password is a line; a file far larger than that is not a password file.
constexpr size_t kMaxPasswordFileBytes = 64 * 1024;

std::string failure(const std::string& path, const std::string& why) {
    return "cannot read kaa.auth.password_file '" + path + "': " + why;
}

}  // namespace

Result<std::string> read_password_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr)
        return make_error(ErrorKind::kUnavailable, failure(path, std::strerror(errno)));
    std::string text(kMaxPasswordFileBytes, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), f));
    const int err = std::ferror(f) ? errno : 0;
    std::fclose(f);
    if (err != 0)
        return make_error(ErrorKind::kUnavailable, failure(path, std::strerror(err)));
    text.resize(std::min(text.find('\n'), text.size()));
    while (!text.empty() && text.back() == '\r')
        text.pop_back();
    if (text.empty()) {
        return make_error(ErrorKind::kInvalidArgument,
                          failure(path, "its first line is empty (no password)"));
    }
    return text;
}

}  // namespace kaa::uplink
