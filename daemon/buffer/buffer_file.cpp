// Path checks and quarantine for the buffer's file.
#include "daemon/buffer/buffer_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>

namespace kaa::buffer_file {
namespace {

Error io_error(int e, std::string message) {
    return make_error(ErrorKind::kIo, std::move(message), e);
}

}  // namespace

std::string directory_of(const std::string& path) {
    const std::string dir = std::filesystem::path(path).parent_path().string();
    return dir.empty() ? "." : dir;
}

std::string errno_words(int e) {
    static const std::map<int, const char*> kWords = {{ENOSPC, "disk full"},
                                                      {EDQUOT, "disk quota exceeded"},
                                                      {EFBIG, "file size limit exceeded"},
                                                      {EROFS, "read-only file system"},
                                                      {EACCES, "permission denied"},
                                                      {EPERM, "permission denied"}};
    const auto it = kWords.find(e);
    return it != kWords.end() ? it->second : std::strerror(e);
}

uint64_t free_bytes(const std::string& path) {
    struct statvfs vfs {};
    if (::statvfs(directory_of(path).c_str(), &vfs) != 0)
        return 0;
    return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

bool on_read_only_fs(const std::string& path) {
    struct statvfs vfs {};
    return ::statvfs(directory_of(path).c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0;
}

Status check_writable(const std::string& path) {
    const std::string dir = directory_of(path);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        const int e = errno;
        return io_error(e, fmt::format("buffer {}: directory {} {}", path, dir,
                                       e == ENOENT ? "does not exist (create it, writable by "
                                                     "the daemon's user)"
                                                   : errno_words(e)));
    }
    if (!S_ISDIR(st.st_mode)) {
        return io_error(ENOTDIR, fmt::format("buffer {}: {} is not a directory", path, dir));
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        const int e = errno;
        return io_error(e, fmt::format("buffer {}: directory {} is not writable: {}", path, dir,
                                       errno_words(e)));
    }
    // Creating or opening it here gives the real errno; SQLite falls back to read-only.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        const int e = errno;
        return io_error(
            e, fmt::format("buffer {}: cannot create or write the file: {}", path, errno_words(e)));
    }
    ::close(fd);
    return {};
}

Result<std::string> move_aside(const std::string& path, long long unix_time) {
    std::string dest = fmt::format("{}.corrupt-{}", path, unix_time);
    for (int n = 2; ::access(dest.c_str(), F_OK) == 0; ++n) {
        dest = fmt::format("{}.corrupt-{}-{}", path, unix_time, n);
    }
    if (::rename(path.c_str(), dest.c_str()) != 0) {
        const int e = errno;
        return io_error(e, fmt::format("buffer {}: damaged, and cannot move it aside to {}: {}",
                                       path, dest, errno_words(e)));
    }
    for (const char* suffix : {"-wal", "-shm"}) {
        const std::string from = path + suffix;
        if (::rename(from.c_str(), (dest + suffix).c_str()) == 0 || errno == ENOENT)
            continue;
        // A stale WAL must never be replayed into the fresh file: delete it instead.
        if (::unlink(from.c_str()) != 0 && errno != ENOENT) {
            const int e = errno;
            return io_error(e, fmt::format("buffer {}: cannot move or delete {}: {}", path, from,
                                           errno_words(e)));
        }
    }
    return dest;
}

}  // namespace kaa::buffer_file
