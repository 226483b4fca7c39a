// The status page over HTTP, with libmicrohttpd on its own thread.
#include "daemon/status/http/status_http.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "daemon/status/http/mhd_library.hpp"

#include "daemon/status/status_page.hpp"
#include "daemon/status/status_render.hpp"

namespace kaa::status {
namespace {

// A handful of people look at a gateway at once; a browser opens a few connections each.
constexpr unsigned kMaxConnections = 16;
constexpr unsigned kMaxPerAddress = 6;
constexpr unsigned kIdleTimeoutSeconds = 10;

/// Adds the headers every answer carries: nothing cached, nothing sniffed, no scripts or
/// outside resources (the page has only inline style).
void add_common_headers(const MhdLibrary& mhd, MHD_Response* response,
                        const std::string& content_type) {
    mhd.add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type.c_str());
    mhd.add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    mhd.add_response_header(response, "X-Content-Type-Options", "nosniff");
    mhd.add_response_header(response, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'");
}

MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method,
                      const char* /*version*/, const char* /*upload_data*/,
                      size_t* upload_data_size, void** state) {
    // The first call of a request only announces it; a body (none is expected) is dropped.
    static int announced;
    if (*state == nullptr) {
        *state = &announced;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    auto* server = static_cast<StatusHttpServer*>(cls);
    const HttpAnswer answer =
        server->answer(method != nullptr ? method : "", url != nullptr ? url : "");
    const MhdLibrary& mhd = server->mhd();
    MHD_Response* response = mhd.create_response_from_buffer(
        answer.body.size(), const_cast<char*>(answer.body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr)
        return MHD_NO;
    add_common_headers(mhd, response, answer.content_type);
    if (answer.code == MHD_HTTP_METHOD_NOT_ALLOWED)
        mhd.add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    const MHD_Result queued = mhd.queue_response(connection, answer.code, response);
    mhd.destroy_response(response);
    return queued;
}

}  // namespace

HttpAnswer answer_status_request(const std::string& method, const std::string& path,
                                 const std::shared_ptr<const nlohmann::json>& doc) {
    if (method != "GET" && method != "HEAD")
        return {405, "text/plain; charset=utf-8", "only GET and HEAD: this page is read-only\n"};
    // The query string is not part of the path libmicrohttpd hands over.
    if (path != "/" && path != "/status.json" && path != "/metrics" && path != "/index.html")
        return {404, "text/plain; charset=utf-8", "not found: try /, /status.json or /metrics\n"};
    if (!doc)
        return {503, "text/plain; charset=utf-8", "the gateway is starting; try again\n"};
    if (path == "/status.json") {
        return {200, "application/json",
                doc->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
    }
    if (path == "/metrics")
        return {200, "text/plain; version=0.0.4; charset=utf-8", render_prometheus(*doc)};
    return {200, "text/html; charset=utf-8", render_status_html(*doc)};
}

Result<std::unique_ptr<StatusHttpServer>> StatusHttpServer::start(const std::string& host,
                                                                  uint16_t port) {
    const Result<const MhdLibrary*> mhd = MhdLibrary::get();
    if (!mhd)
        return mhd.error();
    std::unique_ptr<StatusHttpServer> server(new StatusHttpServer());
    server->mhd_ = mhd.value();
    sockaddr_in v4{};
    sockaddr_in6 v6{};
    const sockaddr* address = nullptr;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        address = reinterpret_cast<const sockaddr*>(&v4);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        address = reinterpret_cast<const sockaddr*>(&v6);
        flags |= MHD_USE_IPv6;
    } else {
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("status.http: '{}' is not a numeric address", host));
    }
    errno = 0;
    server->daemon_ = server->mhd_->start_daemon(
        flags, port, nullptr, nullptr, &on_request, server.get(), MHD_OPTION_SOCK_ADDR, address,
        MHD_OPTION_CONNECTION_LIMIT, kMaxConnections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        kMaxPerAddress, MHD_OPTION_CONNECTION_TIMEOUT, kIdleTimeoutSeconds,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(64 * 1024), MHD_OPTION_END);
    if (server->daemon_ == nullptr) {
        const int e = errno;
        return make_error(
            ErrorKind::kIo,
            fmt::format("status.http: cannot listen on {}:{}: {}", host, port,
                        e == EADDRINUSE      ? "the port is in use (another program, or a second "
                                               "gateway?)"
                        : e == EADDRNOTAVAIL ? "the address is not one of this machine's"
                        : e != 0             ? std::strerror(e)
                                             : "libmicrohttpd refused to start"));
    }
    return Result<std::unique_ptr<StatusHttpServer>>(std::move(server));
}

StatusHttpServer::~StatusHttpServer() {
    if (daemon_ != nullptr)
        mhd_->stop_daemon(daemon_);
}

void StatusHttpServer::publish(std::shared_ptr<const nlohmann::json> doc) {
    std::lock_guard<std::mutex> lock(mutex_);
    doc_ = std::move(doc);
}

uint64_t StatusHttpServer::served() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return served_;
}

HttpAnswer StatusHttpServer::answer(const std::string& method, const std::string& path) {
    std::shared_ptr<const nlohmann::json> doc;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        doc = doc_;
        ++served_;
    }
    return answer_status_request(method, path, doc);
}

}  // namespace kaa::status
