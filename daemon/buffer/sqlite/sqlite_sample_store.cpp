// The durable store's facade: every call goes to its SqliteStoreCore.
#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"

#include "daemon/buffer/sqlite/store_core.hpp"

namespace kaa {

SqliteSampleStore::SqliteSampleStore(std::unique_ptr<SqliteStoreCore> core)
    : core_(std::move(core)) {}

SqliteSampleStore::~SqliteSampleStore() = default;

Result<std::unique_ptr<SqliteSampleStore>> SqliteSampleStore::open(
    const SqliteStoreOptions& options) {
    auto core = SqliteStoreCore::open(options);
    if (!core)
        return core.error();
    return Result<std::unique_ptr<SqliteSampleStore>>(
        std::unique_ptr<SqliteSampleStore>(new SqliteSampleStore(std::move(core.value()))));
}

Status SqliteSampleStore::append(const std::vector<BufferedSample>& samples) {
    return core_->append(samples);
}

std::vector<StoredSample> SqliteSampleStore::take(size_t meter_index, size_t max, Lane lane) {
    return core_->take(meter_index, max, lane);
}

void SqliteSampleStore::start_live() {
    core_->start_live();
}

void SqliteSampleStore::release(const std::vector<uint64_t>& ids) {
    core_->release(ids);
}

Status SqliteSampleStore::remove(const std::vector<uint64_t>& ids) {
    return core_->remove(ids);
}

bool SqliteSampleStore::has_pending(size_t meter_index, Lane lane) const {
    return core_->has_pending(meter_index, lane);
}

StoreStats SqliteSampleStore::stats() const {
    return core_->stats();
}

size_t SqliteSampleStore::add_meter(const std::string& name) {
    return core_->add_meter(name);
}

Status SqliteSampleStore::check_file() {
    return core_->check_file();
}

bool SqliteSampleStore::compact(size_t max_rows) {
    return core_->compact(max_rows);
}

uint64_t SqliteSampleStore::orphaned_samples() const {
    return core_->orphaned_samples();
}

uint64_t SqliteSampleStore::delivered_rows() const {
    return core_->delivered_rows();
}

bool SqliteSampleStore::checked_at_open() const {
    return core_->checked_at_open();
}

}  // namespace kaa
