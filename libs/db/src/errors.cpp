#include "db/errors.h"

#include <pqxx/except>

#include "core/strings.h"
#include "db/session.h"

namespace fleet::db {

std::string sqlstate_of(const std::exception& e) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) return sql->sqlstate();
  return "";
}

ErrorKind classify(const std::exception& e) {
  if (dynamic_cast<const Unavailable*>(&e) != nullptr ||
      dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
      dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return ErrorKind::kUnavailable;
  }
  const std::string state = sqlstate_of(e);
  if (state.empty()) {
    return dynamic_cast<const pqxx::failure*>(&e) != nullptr ? ErrorKind::kUnavailable
                                                            : ErrorKind::kInternal;
  }
  const std::string cls = state.substr(0, 2);
  if (cls == "08" || state == "57P01" || state == "57P02" || state == "57P03" || state == "40001" ||
      state == "40P01" || state == "25006" /* read-only in hot standby */) {
    return state == "25006" ? ErrorKind::kFailedPrecondition : ErrorKind::kUnavailable;
  }
  if (state == "57014") return ErrorKind::kCancelled;  // query_canceled (also statement_timeout)
  if (state == "55P03") return ErrorKind::kDeadlineExceeded;  // lock_not_available
  if (cls == "53") return ErrorKind::kResourceExhausted;
  if (cls == "42" || state == "3F000") return ErrorKind::kFailedPrecondition;
  if (state == "23505") return ErrorKind::kAlreadyExists;
  if (cls == "23" || cls == "22") return ErrorKind::kInvalidArgument;
  return ErrorKind::kInternal;
}

Error to_error(const std::exception& e) {
  return Error(classify(e), redact_secrets(trim(e.what())));
}

}  // namespace fleet::db
