#pragma once
// StatusHttpServer: the optional status page over HTTP (status.http, off by default):
// `/` the page (status_page.hpp), `/status.json` the document, `/metrics` the Prometheus
// text, from the document the main loop publishes every second. Read-only: GET and HEAD
// only, a few connections at a time, nothing a client sends is kept. libmicrohttpd runs it
// on a thread of its own, loaded when a server starts (mhd_library.hpp); only this
// directory knows it.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

struct MHD_Daemon;

namespace kaa::status {

struct MhdLibrary;

/// One answer of the status server: HTTP code, content type and body.
struct HttpAnswer {
    unsigned code = 200;
    std::string content_type;
    std::string body;
};

/// What GET `path` gets for the document `doc` (null: none published yet).
HttpAnswer answer_status_request(const std::string& method, const std::string& path,
                                 const std::shared_ptr<const nlohmann::json>& doc);

/// Serves the last published document over HTTP on `host`:`port`.
class StatusHttpServer {
  public:
    /// Listens on the numeric address `host` (IPv4 or IPv6) and `port`; an error names them
    /// (port in use, address not on this machine).
    static Result<std::unique_ptr<StatusHttpServer>> start(const std::string& host, uint16_t port);
    ~StatusHttpServer();
    StatusHttpServer(const StatusHttpServer&) = delete;
    StatusHttpServer& operator=(const StatusHttpServer&) = delete;

    /// Replaces the document clients get (thread-safe).
    void publish(std::shared_ptr<const nlohmann::json> doc);
    /// Requests answered since start.
    uint64_t served() const;
    /// What a request gets now (counted); called on the server's thread.
    HttpAnswer answer(const std::string& method, const std::string& path);
    /// The loaded libmicrohttpd this server runs on.
    const MhdLibrary& mhd() const { return *mhd_; }

  private:
    StatusHttpServer() = default;

    const MhdLibrary* mhd_ = nullptr;
    MHD_Daemon* daemon_ = nullptr;
    mutable std::mutex mutex_;
    std::shared_ptr<const nlohmann::json> doc_;  // guarded by mutex_
    uint64_t served_ = 0;                        // guarded by mutex_
};

}  // namespace kaa::status
