// Checks of the files a configuration names.
#include "config/file_checks.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "config/yaml_reader.hpp"

namespace kaa::config {
namespace {

/// The first bytes of the file (up to `limit`), or the errno of the failure.
int read_head(const std::string& path, std::string& head, size_t limit) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr)
        return errno;
    head.resize(limit);
    head.resize(std::fread(head.data(), 1, limit, f));
    const int err = std::ferror(f) ? errno : 0;
    std::fclose(f);
    return err;
}

}  // namespace

void check_named_file(const MapReader& reader, std::string_view key, const std::string& path,
                      FileKind kind, bool missing_is_error) {
    const std::string quoted = "'" + path + "'";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        const std::string what = err == ENOENT
                                     ? quoted + " does not exist"
                                     : quoted + " cannot be checked: " + std::strerror(err);
        if (missing_is_error)
            reader.fail(key, what);
        else
            reader.warn(key, what + "; the daemon will not start until it does");
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        reader.fail(key, quoted + " is not a regular file");
        return;
    }
    std::string head;
    if (const int err = read_head(path, head, 64 * 1024); err != 0) {
        reader.fail(key, quoted + " cannot be read by this user (uid " +
                             std::to_string(::geteuid()) + "): " + std::strerror(err));
        return;
    }
    if (kind != FileKind::kPassword && head.find("-----BEGIN ") == std::string::npos) {
        reader.fail(key, quoted + " is not a PEM file (no '-----BEGIN' line" +
                             std::string(kind == FileKind::kPemKey ? "" : " in its first 64 KiB") +
                             ")");
        return;
    }
    if (kind != FileKind::kPem && (st.st_mode & S_IROTH) != 0) {
        reader.warn(key, quoted + " is readable by every user; restrict it with chmod o-r");
    }
}

}  // namespace kaa::config
