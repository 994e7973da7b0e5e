#pragma once

// Debian's Abseil (20220623) ships no status macros; these are the two every layer needs.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TOKEND_STATUS_CONCAT_INNER_(x, y) x##y
#define TOKEND_STATUS_CONCAT_(x, y) TOKEND_STATUS_CONCAT_INNER_(x, y)

// `lhs` may be a declaration ("auto x"), so it cannot be parenthesized; `statusor` is a name made
// by the macro. Hence no bugprone-macro-parentheses in here.
// NOLINTBEGIN(bugprone-macro-parentheses)

// Returns the status from the enclosing function when `expr` is not OK.
#define TOKEND_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status tokend_status_ = (expr);          \
    if (!tokend_status_.ok()) return tokend_status_; \
  } while (false)

// TOKEND_ASSIGN_OR_RETURN(auto x, MakeX()); moves the value into `lhs` or returns the status.
#define TOKEND_ASSIGN_OR_RETURN(lhs, rexpr) \
  TOKEND_ASSIGN_OR_RETURN_IMPL_(TOKEND_STATUS_CONCAT_(tokend_statusor_, __LINE__), lhs, rexpr)

#define TOKEND_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

// NOLINTEND(bugprone-macro-parentheses)
