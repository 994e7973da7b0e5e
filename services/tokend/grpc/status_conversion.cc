#include "services/tokend/grpc/status_conversion.h"

#include <cctype>
#include <string>

#include "util/log.h"

namespace tokend::grpc {
namespace {

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
         c == '=' || c == '+' || c == '/';
}

constexpr size_t kRedactRun = 20;

}  // namespace

std::string RedactForLog(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  size_t i = 0;
  while (i < message.size()) {
    if (!IsTokenChar(message[i])) {
      out.push_back(message[i++]);
      continue;
    }
    size_t end = i;
    while (end < message.size() && IsTokenChar(message[end])) ++end;
    if (end - i >= kRedactRun) {
      out.append("<redacted>");
    } else {
      out.append(message.substr(i, end - i));
    }
    i = end;
  }
  return out;
}

::grpc::Status ToGrpcStatus(const absl::Status& status, std::string_view method) {
  if (status.ok()) return ::grpc::Status::OK;
  const absl::StatusCode code = status.code();
  bool server_fault = code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown ||
                      code == absl::StatusCode::kDataLoss;
  const absl::string_view message_view = status.message();
  std::string line = "rpc ";
  line.append(method);
  line.append(" failed: ");
  line.append(absl::StatusCodeToString(code));
  line.append(": ");
  line.append(RedactForLog(std::string_view(message_view.data(), message_view.size())));
  // A client's mistake is routine; a fault of ours or of the database is worth a warning.
  bool client_error =
      code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kUnauthenticated ||
      code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kNotFound ||
      code == absl::StatusCode::kAlreadyExists || code == absl::StatusCode::kCancelled ||
      code == absl::StatusCode::kDeadlineExceeded;
  if (server_fault) {
    log::Error(line);
  } else if (client_error) {
    log::Info(line);
  } else {
    log::Warning(line);
  }
  std::string message(message_view);
  if (server_fault) message = "internal error";
  // absl::StatusCode and ::grpc::StatusCode share their numeric values (both follow
  // google.rpc.Code), so the cast is exact.
  return {static_cast<::grpc::StatusCode>(static_cast<int>(code)), message};
}

}  // namespace tokend::grpc
