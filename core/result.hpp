#pragma once
// Result<T>: an expected value or an Error. Expected failures travel as values;
// exceptions are kept for start-up boundaries only.

#include <string>
#include <utility>
#include <variant>

namespace kaa {

/// What kind of failure an Error describes, so callers can react without parsing text.
enum class ErrorKind {
    kInvalidArgument,  // the caller gave something malformed
    kTimeout,          // a peer did not answer in time
    kModbusException,  // a Modbus peer answered with an exception code
    kBadResponse,      // a peer answered with a frame we cannot use (CRC, length, unit id)
    kIo,               // the operating system refused (ENOENT, EIO, ECONNREFUSED...)
    kNotConnected,     // the link is down
    kUnavailable,      // something is temporarily not possible (queue full...)
    kInternal,         // a bug: should never happen
};

/// A failure: its kind, a sentence for humans, and a numeric detail (errno or exception code).
struct Error {
    ErrorKind kind = ErrorKind::kInternal;
    std::string message;
    int code = 0;
};

/// Either a T or an Error.
template <typename T>
class Result {
  public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

    /// True when a value is present.
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    /// The value; only valid when ok().
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    /// The error; only valid when !ok().
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

/// Result of an operation that yields nothing but may fail.
template <>
class Result<void> {
  public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

  private:
    Error error_;
    bool ok_ = true;
};

using Status = Result<void>;

/// Shorthand to build an Error value.
inline Error make_error(ErrorKind kind, std::string message, int code = 0) {
    return Error{kind, std::move(message), code};
}

}  // namespace kaa
