// The files beside the buffer that the main loop looks after: the buffer file itself
// (deleted or replaced while running) and the learnt cuts of meters' refused reads.
#include <spdlog/spdlog.h>

#include "daemon/gateway.hpp"
#include "daemon/learned_cuts_file.hpp"

namespace kaa {
namespace {

constexpr const char* kFilesLog = "gateway";
/// How often the buffer file is checked for having been deleted or replaced.
constexpr auto kFileCheckInterval = std::chrono::seconds(5);

}  // namespace

void Gateway::watch_buffer_file() {
    const auto now = clock_.now();
    if (now < next_file_check_)
        return;
    next_file_check_ = now + kFileCheckInterval;
    if (auto st = store_->check_file(); !st) {
        int suppressed = 0;
        if (log_limiter_.allow("buffer-file", suppressed))
            spdlog::error(
                "{}: {}; trying again in {} s", kFilesLog, st.error().message,
                std::chrono::duration_cast<std::chrono::seconds>(kFileCheckInterval).count());
    }
}

void Gateway::sync_buffer() {
    const auto due = store_->sync_due();
    if (!due || clock_.now() < *due)
        return;
    if (auto st = store_->sync(); !st) {
        int suppressed = 0;
        if (log_limiter_.allow("buffer-sync", suppressed))
            spdlog::error(
                "{}: {}; the last readings are at risk in a power cut until the next "
                "commit",
                kFilesLog, st.error().message);
    }
}

void Gateway::persist_learned_cuts() {
    // Every turn of the main loop asks: compare the generation before copying anything.
    if (learned_cuts_path_.empty() || learned_cuts_.generation() == learned_cuts_saved_)
        return;
    uint64_t generation = 0;
    auto table = learned_cuts_.snapshot(&generation);
    learned_cuts_saved_ = generation;  // a failure is not retried before the next change
    if (auto st = save_learned_cuts(learned_cuts_path_, table); !st) {
        spdlog::warn("{}: {}; meters' refused reads are learnt again after a restart", kFilesLog,
                     st.error().message);
    }
}

}  // namespace kaa
