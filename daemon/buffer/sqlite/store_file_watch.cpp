// SqliteStoreCore::check_file: the buffer file deleted or replaced while the gateway runs.
// The open connection still reads the old file (Unix keeps an unlinked file while it is
// open), so every sample in it is written back to the configured path: nothing is lost.
#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <spdlog/spdlog.h>

#include "daemon/buffer/buffer_file.hpp"
#include "daemon/buffer/sqlite/settings.hpp"
#include "daemon/buffer/sqlite/store_core.hpp"
#include "daemon/buffer/sqlite/support.hpp"

namespace kaa {

void SqliteStoreCore::remember_file() {
    struct stat st {};
    if (::stat(options_.path.c_str(), &st) == 0) {
        file_dev_ = st.st_dev;
        file_ino_ = st.st_ino;
    }
}

Status SqliteStoreCore::check_file() {
    if (db_ == nullptr)
        return {};
    struct stat st {};
    const bool exists = ::stat(options_.path.c_str(), &st) == 0;
    if (exists && st.st_dev == file_dev_ && st.st_ino == file_ino_)
        return {};
    spdlog::error(
        "{}: {} was {} while the gateway ran; writing the {} samples it held to a new file at "
        "that path",
        kComponent, options_.path, exists ? "replaced by another file" : "deleted", stats_.samples);
    if (exists) {
        // Someone else's file: kept aside, never overwritten.
        auto moved = buffer_file::move_aside(options_.path, std::time(nullptr));
        if (!moved)
            return moved.error();
        spdlog::error("{}: moved the file found at {} to {}", kComponent, options_.path,
                      moved.value());
    }
    const std::string rescue = options_.path + ".rescue";
    std::remove(rescue.c_str());
    char* sql = sqlite3_mprintf("VACUUM INTO %Q", rescue.c_str());
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        std::remove(rescue.c_str());
        // Still readable through the open connection: try again at the next check.
        return fail(rc, "write the buffer to a new file");
    }
    // Closed before the rename: closing removes the old WAL by its name, which must not be
    // the new file's.
    close_database();
    full_sync_ = false;
    if (std::rename(rescue.c_str(), options_.path.c_str()) != 0) {
        return io_error(0, "buffer {}: cannot move {} to it: {}; its samples are in that file",
                        options_.path, rescue, std::strerror(errno));
    }
    if (auto reopened = open_database(); !reopened)
        return reopened;
    spdlog::error("{}: {} written again with its {} samples; none was lost", kComponent,
                  options_.path, stats_.samples);
    return {};
}

}  // namespace kaa
