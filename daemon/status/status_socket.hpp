#pragma once
// The status socket: the daemon serves its latest status document on a local unix socket
// (no network listener); `kaa-gateway status` connects and reads it. A client gets the whole
// document and the connection is closed: nothing a client sends is read.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.hpp"

namespace kaa::status {

/// Serves the last published document to every client of a unix socket, on its own thread.
class StatusServer {
  public:
    /// Binds `path` (mode 0660; a stale socket left by a crash is replaced, a live one or
    /// another kind of file is an error) and starts serving.
    static Result<std::unique_ptr<StatusServer>> start(const std::string& path);
    ~StatusServer();
    StatusServer(const StatusServer&) = delete;
    StatusServer& operator=(const StatusServer&) = delete;

    /// Replaces the document clients get (thread-safe).
    void publish(std::string document);
    const std::string& path() const { return path_; }
    /// Clients served since start.
    uint64_t served() const;

  private:
    StatusServer(std::string path, int listen_fd, int wake_fd);
    void run();
    void serve(int client);

    std::string path_;
    int listen_fd_ = -1;
    int wake_fd_ = -1;  // an eventfd: written to stop the thread
    mutable std::mutex mutex_;
    std::shared_ptr<const std::string> document_;  // guarded by mutex_
    uint64_t served_ = 0;                          // guarded by mutex_
    std::thread thread_;
};

/// The largest document a client accepts.
constexpr size_t kMaxStatusBytes = 16 * 1024 * 1024;

/// Connects to the status socket at `path` and reads the whole document; the error says
/// in words what to do (daemon not running, no permission, ...).
Result<std::string> read_status(const std::string& path, std::chrono::milliseconds timeout);

}  // namespace kaa::status
