#pragma once
// DiskReserve: room on the buffer's disk held back for the day the disk is full. SQLite
// needs free blocks to delete rows (the write-ahead log grows first), so a full disk would
// stop even the deletion of delivered samples: then the reserve file is deleted, its room
// goes to the buffer, and it is taken again once the disk has room.

#include <cstdint>
#include <string>

namespace kaa {

/// A file of fixed size with its blocks allocated, beside the buffer ("<buffer>-reserve").
class DiskReserve {
  public:
    /// Nothing happens on disk until take().
    DiskReserve(std::string path, uint64_t bytes);

    /// Makes sure the file is there with all its blocks; false when the disk has no room
    /// for it (nothing is left behind then).
    bool take();
    /// Deletes the file so that its room is free; true when it was there.
    bool release();
    /// True when the file is held (take() succeeded and no release() since).
    bool held() const { return held_; }
    uint64_t bytes() const { return bytes_; }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
    uint64_t bytes_;
    bool held_ = false;
};

/// The reserve's size for a buffer of `max_bytes`: 1/32 of it, between 1 and 8 MiB.
uint64_t reserve_bytes_for(uint64_t max_bytes);

}  // namespace kaa
