// Errors as values: Error (a code and a message), Status (success or an Error)
// and Result<T> (a T or an Error). Value types; not synchronized.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace headcount {

enum class ErrorCode {
  kInvalidArgument,   // the caller's input is wrong (bad config, bad query)
  kNotFound,          // the thing asked for does not exist
  kUnavailable,       // could not reach the other side (network, busy database)
  kRejected,          // the other side answered, and said no (HTTP status, error code)
  kDeadlineExceeded,  // ran out of time
  kIo,                // local file or database failure
  kInternal,          // a bug or a broken invariant
};

std::string_view ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Error InvalidArgument(std::string m) {
    return {ErrorCode::kInvalidArgument, std::move(m)};
  }
  static Error NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Error Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Error Rejected(std::string m) { return {ErrorCode::kRejected, std::move(m)}; }
  static Error DeadlineExceeded(std::string m) {
    return {ErrorCode::kDeadlineExceeded, std::move(m)};
  }
  static Error Io(std::string m) { return {ErrorCode::kIo, std::move(m)}; }
  static Error Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code name>: <message>", for logs and reports.
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
};

// Success, or an Error. Must be looked at.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  const Error& error() const {
    assert(!ok());
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

// A T, or the Error that prevented it. Must be looked at.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Error& error() const {
    assert(!ok());
    return std::get<Error>(v_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The error as a Status, or OK.
  Status status() const { return ok() ? Status() : Status(error()); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace headcount
