// Errors as values. A Result<T> holds either a T or an Error; an Error says what kind of failure it
// is, so the caller can decide whether to retry (transient) or stop and report (permanent).
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace fleet {

// What the caller should do about a failure.
enum class ErrorKind {
  kInvalidArgument,   // the input is wrong; retrying the same input fails again
  kNotFound,          // the thing asked for does not exist
  kAlreadyExists,     // a unique thing exists already
  kFailedPrecondition,// the system is not in a state that allows this (e.g. schema behind)
  kUnauthenticated,   // credentials missing or rejected
  kPermissionDenied,  // authenticated but not allowed
  kUnavailable,       // transient: a peer or the database cannot be reached; retry with backoff
  kDeadlineExceeded,  // transient: it took too long
  kResourceExhausted, // transient: rate limit, cap, or quota
  kCancelled,         // stopped on request (shutdown)
  kDataLoss,          // a peer sent something we cannot use (bad payload)
  kInternal,          // a bug
};

std::string_view to_string(ErrorKind kind);

class Error {
 public:
  Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  static Error invalid(std::string m) { return {ErrorKind::kInvalidArgument, std::move(m)}; }
  static Error not_found(std::string m) { return {ErrorKind::kNotFound, std::move(m)}; }
  static Error precondition(std::string m) { return {ErrorKind::kFailedPrecondition, std::move(m)}; }
  static Error unavailable(std::string m) { return {ErrorKind::kUnavailable, std::move(m)}; }
  static Error internal(std::string m) { return {ErrorKind::kInternal, std::move(m)}; }

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  // True when the same operation may succeed later without any change of input.
  bool transient() const {
    return kind_ == ErrorKind::kUnavailable || kind_ == ErrorKind::kDeadlineExceeded ||
           kind_ == ErrorKind::kResourceExhausted;
  }

  // "<kind>: <message>"
  std::string describe() const;

 private:
  ErrorKind kind_;
  std::string message_;
};

// Either a value or an Error. Accessing the wrong alternative is a bug (asserts in debug builds).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> state_;
};

// Success or an Error, for operations that produce no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design
  static Status success() { return {}; }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_{ErrorKind::kInternal, ""};
  bool ok_ = true;
};

}  // namespace fleet
