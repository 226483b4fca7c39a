// The configuration loaded in a fork()ed child: the child parses the YAML file and writes
// the LoadResult to a pipe; the parent reads it to EOF, reaps the child, and has the result.
//
// On the pipe the result is a sequence of frames, each a 4-byte little-endian length and
// that many bytes of CBOR (nlohmann::json::to_cbor of a config_json.hpp document):
//   frame 0:        {"result": to_json(LoadResult) without its meters, "meters": N}
//   frames 1 to N:  to_json(MeterConfig), one meter each
// Meter by meter, because the JSON tree of a whole large configuration (3.3 MB for 100
// meters x 20 registers) would itself set the daemon's peak; one meter's is about 35 KB.

#include "config/isolated_loader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config_json.hpp"

namespace kaa::config {
namespace {

/// A frame larger than this is not something the child wrote.
constexpr std::uint32_t kMaxFrame = 64u << 20;

/// How a read from the child ended.
enum class ReadEnd { kOk, kEof, kError };

/// The parent's side of the pipe, and when to give up on the child.
struct Reader {
    int fd = -1;
    const std::atomic<bool>* cancel = nullptr;
    std::chrono::steady_clock::time_point deadline;
    bool stopped = false;  // cancelled, or the deadline passed: the child is to be killed
};

/// Waits until the pipe has data (or EOF); false when cancelled or past the deadline.
bool wait_readable(Reader& r) {
    constexpr int kSliceMs = 100;  // how soon a cancel is noticed
    while (!r.stopped) {
        if ((r.cancel != nullptr && r.cancel->load()) ||
            std::chrono::steady_clock::now() >= r.deadline) {
            r.stopped = true;
            break;
        }
        pollfd p{r.fd, POLLIN, 0};
        const int n = ::poll(&p, 1, kSliceMs);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return true;  // the read reports the error
    }
    return false;
}

/// Writes all of data to fd, resuming after signals and partial writes; false on an error.
bool write_all(int fd, const std::uint8_t* data, size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

/// Reads exactly size bytes, resuming after signals and partial reads.
ReadEnd read_exact(Reader& r, std::uint8_t* data, size_t size) {
    while (size > 0) {
        if (!wait_readable(r))
            return ReadEnd::kError;
        const ssize_t n = ::read(r.fd, data, size);
        if (n == 0) {
            return ReadEnd::kEof;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return ReadEnd::kError;
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
    return ReadEnd::kOk;
}

/// Reads and discards everything up to EOF; false on a read error.
bool drain(Reader& r) {
    std::array<std::uint8_t, 4096> sink{};
    for (;;) {
        if (!wait_readable(r))
            return false;
        const ssize_t n = ::read(r.fd, sink.data(), sink.size());
        if (n == 0) {
            return true;
        }
        if (n < 0 && errno != EINTR) {
            return false;
        }
    }
}

/// Writes one frame: the length of bytes, then bytes.
bool write_frame(int fd, const std::vector<std::uint8_t>& bytes) {
    if (bytes.size() > kMaxFrame) {
        return false;
    }
    const auto size = static_cast<std::uint32_t>(bytes.size());
    const std::uint8_t length[4] = {
        static_cast<std::uint8_t>(size), static_cast<std::uint8_t>(size >> 8),
        static_cast<std::uint8_t>(size >> 16), static_cast<std::uint8_t>(size >> 24)};
    return write_all(fd, length, sizeof length) && write_all(fd, bytes.data(), bytes.size());
}

/// Reads one frame and decodes its CBOR; nullopt at EOF, on a read error or invalid CBOR.
std::optional<nlohmann::json> read_frame(Reader& r) {
    std::uint8_t length[4];
    if (read_exact(r, length, sizeof length) != ReadEnd::kOk) {
        return std::nullopt;
    }
    const std::uint32_t size = std::uint32_t{length[0]} | (std::uint32_t{length[1]} << 8) |
                               (std::uint32_t{length[2]} << 16) | (std::uint32_t{length[3]} << 24);
    if (size > kMaxFrame) {
        return std::nullopt;
    }
    std::vector<std::uint8_t> bytes(size);
    if (read_exact(r, bytes.data(), bytes.size()) != ReadEnd::kOk) {
        return std::nullopt;
    }
    try {
        nlohmann::json doc = nlohmann::json::from_cbor(bytes, /*strict=*/true,
                                                       /*allow_exceptions=*/false);
        if (doc.is_discarded()) {
            return std::nullopt;
        }
        return doc;
    } catch (const nlohmann::json::exception&) {
        // from_cbor still throws out_of_range for a container whose declared size is absurd.
        return std::nullopt;
    }
}

/// Reads the whole result the child sends (see the top of this file) up to its EOF;
/// nullopt when something is missing or malformed, or anything follows the last meter.
std::optional<LoadResult> receive(Reader& r) {
    const std::optional<nlohmann::json> header = read_frame(r);
    if (!header || !header->is_object() || !header->contains("result") ||
        !header->contains("meters")) {
        return std::nullopt;
    }
    const auto* count = header->at("meters").get_ptr<const nlohmann::json::number_unsigned_t*>();
    std::optional<LoadResult> result = load_result_from_json(header->at("result"));
    if (count == nullptr || !result || (*count > 0 && !result->config)) {
        return std::nullopt;
    }
    for (std::uint64_t i = 0; i < *count; ++i) {
        const std::optional<nlohmann::json> doc = read_frame(r);
        if (!doc) {
            return std::nullopt;
        }
        std::optional<MeterConfig> meter = meter_config_from_json(*doc);
        if (!meter) {
            return std::nullopt;
        }
        result->config->meters.push_back(std::move(*meter));
    }
    std::uint8_t extra = 0;
    if (read_exact(r, &extra, 1) != ReadEnd::kEof) {
        return std::nullopt;
    }
    return result;
}

/// "SIGSEGV (Segmentation fault)", or "signal 42" for a signal glibc has no name for.
std::string describe_signal(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    if (abbrev == nullptr) {
        return "signal " + std::to_string(sig);
    }
    std::string text = std::string("SIG") + abbrev;
    if (const char* description = ::sigdescr_np(sig)) {
        text += std::string(" (") + description + ")";
    }
    return text;
}

/// The child's whole life: load, send the result, and leave with _exit, which runs no
/// atexit handlers and flushes none of the stdio buffers inherited from the parent.
[[noreturn]] void run_child(int fd, const std::string& path, const LoadOptions& options,
                            detail::Loader loader) {
    int code = 1;
    try {
        LoadResult result = loader(path, options);
        std::vector<MeterConfig> meters;
        if (result.config) {
            meters.swap(result.config->meters);
        }
        const nlohmann::json header =
            nlohmann::json::object({{"result", to_json(result)}, {"meters", meters.size()}});
        bool sent = write_frame(fd, nlohmann::json::to_cbor(header));
        for (size_t i = 0; sent && i < meters.size(); ++i) {
            sent = write_frame(fd, nlohmann::json::to_cbor(to_json(meters[i])));
        }
        code = sent ? 0 : 1;
    } catch (...) {
        code = 2;
    }
    ::_exit(code);
}

/// load_gateway_config in this process, with a first warning saying why no child was used.
LoadResult load_in_process(const std::string& path, const LoadOptions& options,
                           const std::string& reason) {
    LoadResult result = load_gateway_config(path, options);
    result.warnings.insert(
        result.warnings.begin(),
        ConfigError{Location{path, 0, 0}, "could not parse the configuration in a child process (" +
                                              reason + "); parsed it in the daemon's process"});
    return result;
}

/// The result for a child killed by sig: one error, no configuration.
LoadResult crashed(const std::string& path, int sig) {
    LoadResult result;
    result.errors.push_back(ConfigError{
        Location{path, 0, 0},
        "configuration parser crashed (" + describe_signal(sig) + "); the file was not loaded"});
    return result;
}

}  // namespace

LoadResult load_gateway_config_isolated(const std::string& path, const LoadOptions& options,
                                        const IsolationLimits& limits) {
    return detail::load_isolated_with(path, options, &load_gateway_config, limits);
}

namespace detail {

LoadResult load_isolated_with(const std::string& path, const LoadOptions& options,
                              Loader child_loader, const IsolationLimits& limits) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return load_in_process(path, options, std::string("pipe: ") + std::strerror(errno));
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        return load_in_process(path, options, std::string("fork: ") + std::strerror(err));
    }
    if (pid == 0) {
        // The parser dies with its parent (a --check killed by its caller, say); the
        // getppid() check covers a parent that died before prctl took effect.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(3);
        ::close(fds[0]);
        run_child(fds[1], path, options, child_loader);
    }

    // Read to EOF before waiting: a child blocked on a full pipe would never exit.
    ::close(fds[1]);
    Reader reader{fds[0], limits.cancel, std::chrono::steady_clock::now() + limits.time_limit};
    std::optional<LoadResult> result = receive(reader);
    const bool read_to_eof = !reader.stopped && drain(reader);
    ::close(fds[0]);
    if (reader.stopped)
        ::kill(pid, SIGKILL);

    int status = 0;
    pid_t reaped = -1;
    do {
        reaped = ::waitpid(pid, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    if (reader.stopped) {
        LoadResult stopped;
        const bool cancelled = limits.cancel != nullptr && limits.cancel->load();
        const auto seconds =
            std::chrono::duration_cast<std::chrono::seconds>(limits.time_limit).count();
        stopped.errors.push_back(ConfigError{
            Location{path, 0, 0},
            cancelled ? std::string("loading the configuration was cancelled (the daemon stops)")
                      : "the configuration took more than " + std::to_string(seconds) +
                            " s to parse; the parser was stopped and the file not loaded"});
        return stopped;
    }
    if (!read_to_eof) {
        // Not a crash even if the child died: it may have been SIGPIPE from the early close.
        return load_in_process(path, options, "reading its result failed");
    }
    if (reaped == pid && WIFSIGNALED(status)) {
        return crashed(path, WTERMSIG(status));
    }
    if (reaped == pid && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        return load_in_process(path, options,
                               "the child exited with status " +
                                   std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    }
    // Here the child exited 0, or its status is unknown (waitpid fails with ECHILD when
    // SIGCHLD is ignored): the result counts when it arrived complete.
    if (!result) {
        return load_in_process(path, options, "its result was empty or invalid");
    }
    return std::move(*result);
}

}  // namespace detail

}  // namespace kaa::config
