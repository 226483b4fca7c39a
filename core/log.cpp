// Logger set-up for the daemon and the operator tool.
#include "core/log.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace kaa::log {
namespace {

/// Writes the sd-daemon priority prefix (<3> error, <4> warning, <6> info, <7> debug).
class JournalPriorityFlag final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const char* prefix = "<6>";
        switch (msg.level) {
            case spdlog::level::critical:
                prefix = "<2>";
                break;
            case spdlog::level::err:
                prefix = "<3>";
                break;
            case spdlog::level::warn:
                prefix = "<4>";
                break;
            case spdlog::level::info:
                prefix = "<6>";
                break;
            default:
                prefix = "<7>";
                break;
        }
        dest.append(prefix, prefix + 3);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JournalPriorityFlag>();
    }
};

}  // namespace

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr)
        return false;
    struct stat st {};
    if (fstat(2, &st) != 0)
        return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2)
        return false;
    return dev == static_cast<unsigned long long>(st.st_dev) &&
           ino == static_cast<unsigned long long>(st.st_ino);
}

bool init(const std::string& level) {
    auto logger =
        std::make_shared<spdlog::logger>("kaa", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    if (stderr_is_journal()) {
        formatter->add_flag<JournalPriorityFlag>('*').set_pattern("%*[%l] %v");
    } else {
        formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
    }
    logger->set_formatter(std::move(formatter));
    logger->flush_on(spdlog::level::debug);
    spdlog::set_default_logger(logger);

    bool known = true;
    if (level == "debug") {
        spdlog::set_level(spdlog::level::debug);
    } else if (level == "info") {
        spdlog::set_level(spdlog::level::info);
    } else if (level == "warning" || level == "warn") {
        spdlog::set_level(spdlog::level::warn);
    } else if (level == "error") {
        spdlog::set_level(spdlog::level::err);
    } else {
        spdlog::set_level(spdlog::level::info);
        known = false;
    }
    return known;
}

}  // namespace kaa::log
