// Writing whole files atomically, reading small ones whole.
#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kaa {
namespace {

Error io_error(const std::string& what, const std::string& path) {
    const int code = errno;
    return make_error(ErrorKind::kIo, fmt::format("{} {}: {}", what, path, std::strerror(code)),
                      code);
}

std::string directory_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Status write_file_atomically(const std::string& path, const std::string& text, int mode) {
    const std::string temporary = path + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                          static_cast<mode_t>(mode));
    if (fd < 0)
        return io_error("cannot write", temporary);
    size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const Error err = io_error("cannot write", temporary);
            ::close(fd);
            ::unlink(temporary.c_str());
            return err;
        }
        written += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const Error err = io_error("cannot sync", temporary);
        ::close(fd);
        ::unlink(temporary.c_str());
        return err;
    }
    ::close(fd);
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        const Error err = io_error("cannot rename over", path);
        ::unlink(temporary.c_str());
        return err;
    }
    // The rename itself is durable only once the directory is.
    const int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        (void)::fsync(dir);
        ::close(dir);
    }
    return {};
}

Result<std::string> read_small_file(const std::string& path, size_t max_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_error("cannot read", path);
    std::string text;
    char chunk[8192];
    while (true) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const Error err = io_error("cannot read", path);
            ::close(fd);
            return err;
        }
        if (n == 0)
            break;
        text.append(chunk, static_cast<size_t>(n));
        if (text.size() > max_bytes) {
            ::close(fd);
            return make_error(ErrorKind::kInvalidArgument,
                              fmt::format("{} is larger than {} bytes", path, max_bytes));
        }
    }
    ::close(fd);
    return text;
}

}  // namespace kaa
