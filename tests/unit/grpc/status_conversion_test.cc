#include "services/tokend/grpc/status_conversion.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace tokend::grpc {
namespace {

TEST(ToGrpcStatusTest, OkStaysOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), "Verify").ok()); }

TEST(ToGrpcStatusTest, EveryCodeMapsToTheSameGrpcCode) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status status(static_cast<absl::StatusCode>(code), "message");
    EXPECT_EQ(static_cast<int>(ToGrpcStatus(status, "Issue").error_code()), code);
  }
}

TEST(ToGrpcStatusTest, ClientErrorsKeepTheirMessage) {
  ::grpc::Status status = ToGrpcStatus(absl::InvalidArgumentError("subject is required"), "Issue");
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "subject is required");
}

TEST(ToGrpcStatusTest, ServerFaultsHideTheirDetailsFromTheClient) {
  for (absl::Status fault : {absl::InternalError("SQLSTATE 42P01 at queries.h"),
                             absl::UnknownError("boom"), absl::DataLossError("torn page")}) {
    ::grpc::Status status = ToGrpcStatus(fault, "Refresh");
    EXPECT_EQ(status.error_message(), "internal error") << fault;
  }
}

TEST(RedactForLogTest, RemovesTokenLikeRunsAndKeepsWords) {
  std::string jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl";
  std::string redacted = RedactForLog("bad token " + jwt + " for subject alice");
  EXPECT_EQ(redacted, "bad token <redacted> for subject alice");
  EXPECT_EQ(RedactForLog("rt1.G98Qun9U7ZwPrJ6W6mb6mltx3xpiJCR1Qmi4"), "<redacted>");
  EXPECT_EQ(RedactForLog("SQLSTATE 40001: serialization failure"),
            "SQLSTATE 40001: serialization failure");
}

}  // namespace
}  // namespace tokend::grpc
