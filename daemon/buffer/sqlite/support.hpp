#pragma once
// Small helpers shared by the SQLite-backed store's source files (and only by them).

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "core/result.hpp"

namespace kaa::sqlite_support {

/// Resets a statement when the scope ends, so it can be stepped again next time.
class Reset {
  public:
    explicit Reset(sqlite3_stmt* stmt) : stmt_(stmt) {}
    ~Reset() { sqlite3_reset(stmt_); }
    Reset(const Reset&) = delete;
    Reset& operator=(const Reset&) = delete;

  private:
    sqlite3_stmt* stmt_;
};

/// Binds a string that outlives the statement's next step.
inline void bind_text(sqlite3_stmt* stmt, int index, const std::string& text) {
    sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

/// Binds an unsigned id.
inline void bind_id(sqlite3_stmt* stmt, int index, uint64_t id) {
    sqlite3_bind_int64(stmt, index, static_cast<sqlite3_int64>(id));
}

/// A text column as a string (empty for NULL).
inline std::string column_string(sqlite3_stmt* stmt, int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    return text == nullptr
               ? std::string()
               : std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

/// An integer column as an unsigned count or id.
inline uint64_t column_u64(sqlite3_stmt* stmt, int column) {
    return static_cast<uint64_t>(sqlite3_column_int64(stmt, column));
}

/// True for the result codes that mean the file is damaged.
inline bool is_damage(int rc) {
    return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/// Shorthand for an I/O error with a formatted message.
template <typename... Args>
Error io_error(int code, fmt::format_string<Args...> format, Args&&... args) {
    return make_error(ErrorKind::kIo, fmt::format(format, std::forward<Args>(args)...), code);
}

}  // namespace kaa::sqlite_support
