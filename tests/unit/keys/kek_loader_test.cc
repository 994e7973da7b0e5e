#include "services/tokend/keys/kek_loader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokend::keys {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// 32 bytes with whitespace, NUL and high bytes: a raw KEK must be taken byte for byte.
std::string RawKek() {
  std::string raw;
  for (int i = 0; i < 32; ++i) raw.push_back(static_cast<char>((i * 37 + 9) & 0xff));
  raw[0] = ' ';
  raw[31] = '\n';
  raw[5] = '\0';
  return raw;
}

std::string ExpectedId() {
  absl::StatusOr<Kek> kek = Kek::FromBytes(jwt::SecretData(RawKek()));
  EXPECT_TRUE(kek.ok());
  return kek->id();
}

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    const char* base = std::getenv("TEST_TMPDIR");
    path_ = absl::StrCat(base != nullptr ? base : "/tmp", "/kek_loader_test.XXXXXX");
    const int fd = mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    close(fd);
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << content;
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(KekLoaderTest, RawThirtyTwoBytesAreTakenAsIs) {
  absl::StatusOr<Kek> kek = ParseKek(RawKek(), "test");
  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_EQ(kek->id(), ExpectedId());
}

TEST(KekLoaderTest, Base64InEitherAlphabetWithOrWithoutPaddingGivesTheSameKek) {
  const std::string standard = absl::Base64Escape(RawKek());
  const std::string web_unpadded = absl::WebSafeBase64Escape(RawKek());
  for (const std::string& encoded :
       {standard, standard + "\n", "  " + standard + "\r\n", web_unpadded, web_unpadded + "\n"}) {
    absl::StatusOr<Kek> kek = ParseKek(encoded, "test");
    ASSERT_TRUE(kek.ok()) << kek.status() << " for " << encoded;
    EXPECT_EQ(kek->id(), ExpectedId());
  }
}

TEST(KekLoaderTest, WrongLengthIsRefusedWithoutEchoingTheContent) {
  const std::string short_key = absl::Base64Escape(std::string(16, 'q'));
  for (const std::string& bad : {std::string(31, 'x'), std::string(33, 'x'), short_key,
                                 std::string("not base64 at all!!"), std::string()}) {
    absl::StatusOr<Kek> kek = ParseKek(bad, "SOURCE");
    ASSERT_EQ(kek.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(kek.status().message(), HasSubstr("SOURCE"));
    if (!bad.empty()) {
      EXPECT_THAT(kek.status().message(), Not(HasSubstr(bad)));
    }
  }
}

TEST(KekLoaderTest, FileAndEnvironmentGiveTheSameKek) {
  TempFile raw_file(RawKek());
  TempFile base64_file(absl::Base64Escape(RawKek()) + "\n");
  absl::StatusOr<Kek> from_raw = LoadKek(raw_file.path(), std::nullopt);
  absl::StatusOr<Kek> from_base64 = LoadKek(base64_file.path(), std::nullopt);
  const std::string env = absl::Base64Escape(RawKek());
  absl::StatusOr<Kek> from_env = LoadKek("", env);
  ASSERT_TRUE(from_raw.ok()) << from_raw.status();
  ASSERT_TRUE(from_base64.ok()) << from_base64.status();
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_raw->id(), ExpectedId());
  EXPECT_EQ(from_base64->id(), ExpectedId());
  EXPECT_EQ(from_env->id(), ExpectedId());
}

TEST(KekLoaderTest, MissingAmbiguousOrUnreadableSourcesAreClearErrors) {
  absl::StatusOr<Kek> none = LoadKek("", std::nullopt);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("--kek_file"));
  EXPECT_THAT(none.status().message(), HasSubstr("TOKEND_KEK"));

  TempFile file(RawKek());
  EXPECT_EQ(LoadKek(file.path(), "something").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<Kek> missing = LoadKek("/nonexistent/kek", std::nullopt);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/kek"));
}

TEST(KekLoaderTest, RingHoldsThePrimaryAndThePreviousKek) {
  TempFile current(RawKek());
  TempFile old(std::string(32, 'o'));
  absl::StatusOr<KekRing> ring = LoadKekRing(current.path(), std::nullopt, old.path());
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->primary().id(), ExpectedId());
  absl::StatusOr<Kek> old_kek = Kek::FromBytes(jwt::SecretData(std::string(32, 'o')));
  ASSERT_TRUE(old_kek.ok());
  EXPECT_NE(ring->Find(old_kek->id()), nullptr);
  EXPECT_EQ(ring->Find("0000000000000000"), nullptr);
  EXPECT_EQ(LoadKekRing("", std::nullopt, old.path()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadKekRing(current.path(), std::nullopt, "/nonexistent").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tokend::keys
