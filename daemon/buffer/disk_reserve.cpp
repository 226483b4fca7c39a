// The buffer's disk reserve: a preallocated file deleted when the disk is full.
#include "daemon/buffer/disk_reserve.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace kaa {

DiskReserve::DiskReserve(std::string path, uint64_t bytes)
    : path_(std::move(path)), bytes_(bytes) {}

bool DiskReserve::take() {
    struct stat st {};
    // st_blocks counts 512-byte units: a sparse file of the right length holds no room.
    if (::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<uint64_t>(st.st_blocks) * 512 >= bytes_) {
        held_ = true;
        return true;
    }
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        held_ = false;
        return false;
    }
    const bool ok = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes_)) == 0 && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok)
        ::unlink(path_.c_str());
    held_ = ok;
    return ok;
}

bool DiskReserve::release() {
    const bool was = ::unlink(path_.c_str()) == 0;
    held_ = false;
    return was;
}

uint64_t reserve_bytes_for(uint64_t max_bytes) {
    constexpr uint64_t kMiB = 1024 * 1024;
    return std::clamp<uint64_t>(max_bytes / 32, kMiB, 8 * kMiB);
}

}  // namespace kaa
