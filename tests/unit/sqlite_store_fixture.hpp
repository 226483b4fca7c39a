#pragma once
// The fixture of the SqliteSampleStore tests: a fresh temporary directory per test, sample
// and id helpers, and ways to open the store in it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"

namespace kaa {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kMiB = 1024 * 1024;

/// A ~200-byte sample record for meter `meter`, numbered `n` (also its read time).
BufferedSample sample(size_t meter, int64_t n) {
    std::string record = "{\"n\":" + std::to_string(n);
    for (int v = 0; v < 16; ++v)
        record += ",\"v" + std::to_string(v) + "\":1234.56";
    return BufferedSample{meter, n, record + "}"};
}

/// The ids of taken samples, for release() and remove().
std::vector<uint64_t> ids_of(const std::vector<StoredSample>& taken) {
    std::vector<uint64_t> ids;
    for (const auto& s : taken)
        ids.push_back(s.id);
    return ids;
}

/// A fresh temporary directory per test, removed afterwards.
class SqliteStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "kaa-store-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
        path = (fs::path(dir) / "buffer.db").string();
    }
    void TearDown() override {
        fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add);
        fs::remove_all(dir);
    }

    Result<std::unique_ptr<SqliteSampleStore>> try_open(
        std::vector<std::string> names, uint64_t max_bytes = 64 * kMiB,
        config::Overflow overflow = config::Overflow::kDropOldest) {
        return SqliteSampleStore::open(SqliteStoreOptions{path, names, max_bytes, overflow});
    }
    std::unique_ptr<SqliteSampleStore> open(
        std::vector<std::string> names = {"a"}, uint64_t max_bytes = 64 * kMiB,
        config::Overflow overflow = config::Overflow::kDropOldest) {
        auto r = try_open(names, max_bytes, overflow);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
        return r.ok() ? std::move(r.value()) : nullptr;
    }
    /// Bytes of the database, its WAL and its shared-memory index.
    uint64_t disk_bytes() const {
        uint64_t total = 0;
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::error_code ec;
            const auto size = fs::file_size(path + suffix, ec);
            if (!ec)
                total += size;
        }
        return total;
    }
    /// Appends `rounds` rounds of `per_round` samples of meter 0, numbered from 0.
    void fill(SampleStore& store, int rounds, int per_round) {
        for (int r = 0; r < rounds; ++r) {
            std::vector<BufferedSample> v;
            for (int i = 0; i < per_round; ++i)
                v.push_back(sample(0, r * per_round + i));
            ASSERT_TRUE(store.append(v).ok());
        }
    }

    std::string dir;
    std::string path;
};

}  // namespace
}  // namespace kaa
