// Managed signing keys end to end: two tokend replicas sharing one PostgreSQL rotate
// their keys on a short period while a stream of tokens is verified on both replicas and by an
// independent verifier that caches the JWKS (jwks_caching_verifier.py, Debian's PyJWT); an
// emergency removal stops a key on both replicas; a pg_dump holds no private key in clear; a
// wrong key-encryption key is refused without writing anything; the KEK can be rotated.

#include <fcntl.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/algorithm.h"
#include "jwt/base64url.h"
#include "services/tokend/keys/kek_loader.h"
#include "services/tokend/keys/key_encryption.h"
#include "storage/postgres/postgres_key_store.h"
#include "tests/e2e/http_get.h"
#include "tests/e2e/pg_e2e_support.h"
#include "tests/e2e/test_keys.h"
#include "tests/e2e/tokend_process.h"
#include "tests/testing/pg_test_database.h"
#include "tokend/v1/token_service.grpc.pb.h"

extern char** environ;

namespace tokend::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ---- a child process spoken to line by line (the Python verifier) ---------------------------

class LineProcess {
 public:
  static absl::StatusOr<std::unique_ptr<LineProcess>> Start(const std::vector<std::string>& argv,
                                                            const std::string& stderr_path) {
    int to_child[2];
    int from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) {
      return absl::InternalError("pipe2 failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    if (rc != 0) {
      close(to_child[1]);
      close(from_child[0]);
      return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": errno ", rc));
    }
    auto process = std::unique_ptr<LineProcess>(new LineProcess());
    process->pid_ = pid;
    process->in_ = to_child[1];
    process->out_ = from_child[0];
    return process;
  }

  ~LineProcess() {
    close(in_);  // EOF: the child finishes
    for (int i = 0; i < 500; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        close(out_);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    close(out_);
  }

  // Sends one line and returns the child's one-line answer.
  absl::StatusOr<std::string> Exchange(const std::string& line, absl::Duration timeout) {
    const std::string data = line + "\n";
    size_t written = 0;
    while (written < data.size()) {
      const ssize_t n = write(in_, data.data() + written, data.size() - written);
      if (n <= 0) return absl::UnavailableError("the verifier closed its stdin");
      written += static_cast<size_t>(n);
    }
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      if (size_t newline = buffer_.find('\n'); newline != std::string::npos) {
        std::string answer = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return answer;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("no answer");
      pollfd fd{out_, POLLIN, 0};
      if (poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(out_, chunk, sizeof(chunk));
      if (n <= 0) return absl::UnavailableError("the verifier exited");
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  LineProcess() = default;
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string buffer_;
};

// ---- helpers ---------------------------------------------------------------------------------

// The kid of a compact JWS's protected header ("" if absent).
std::string KidOf(const std::string& token) {
  const std::string header_b64 = token.substr(0, token.find('.'));
  absl::StatusOr<std::string> header = jwt::Base64UrlDecode(header_b64);
  if (!header.ok()) return "";
  const std::string marker = "\"kid\":\"";
  const size_t start = header->find(marker);
  if (start == std::string::npos) return "";
  const size_t end = header->find('"', start + marker.size());
  return header->substr(start + marker.size(), end - start - marker.size());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string NewKekBase64() {
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::Base64Escape(std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::string KekIdOf(const std::string& encoded) {
  absl::StatusOr<keys::Kek> kek = keys::ParseKek(encoded, "test");
  EXPECT_TRUE(kek.ok()) << kek.status();
  return kek.ok() ? kek->id() : "";
}

class TokendKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // a verifier that died must fail the test, not kill it
    absl::StatusOr<std::unique_ptr<testing::PgTestDatabase>> database = FreshEmptyDatabase();
    if (!database.ok()) {
      if (absl::IsFailedPrecondition(database.status())) {
        GTEST_SKIP() << database.status().message();
      }
      FAIL() << database.status();
    }
    database_ = *std::move(database);
    ASSERT_TRUE(MigrateWithTokend(database_->dsn()).ok());
    kek_ = NewKekBase64();
    kek_file_ = dir_.Write("kek", kek_ + "\n");
  }

  void TearDown() override {
    stubs_.clear();
    for (auto& replica : replicas_) {
      if (replica->running()) {
        EXPECT_EQ(replica->Terminate(), std::optional<int>(0));
      }
      if (HasFailure()) replica->DumpLog();
    }
  }

  // A replica on the shared database with managed keys under `kek_file` and `flags`.
  TokendProcess* StartReplica(const std::vector<std::string>& flags,
                              const std::string& kek_file = "") {
    TokendProcess::Options options;
    options.args = {StoreFlag(database_->dsn()),
                    "--kek_file=" + (kek_file.empty() ? kek_file_ : kek_file)};
    options.args.insert(options.args.end(), flags.begin(), flags.end());
    absl::StatusOr<std::unique_ptr<TokendProcess>> replica = TokendProcess::Start(options);
    EXPECT_TRUE(replica.ok()) << replica.status();
    if (!replica.ok()) return nullptr;
    replicas_.push_back(*std::move(replica));
    stubs_.push_back(replicas_.back()->NewStub());
    return replicas_.back().get();
  }
  v1::TokenService::Stub& stub(size_t i) { return *stubs_[i]; }

  // `tokend <args> --store=<this database>`: exit code, output in `output`.
  int RunTokend(std::vector<std::string> args, std::string* output,
                const std::vector<std::pair<std::string, std::string>>& env = {}) {
    // Flags first: callers may end `args` with "--" and a kid (a kid may start with '-').
    args.insert(args.begin(), StoreFlag(database_->dsn()));
    absl::StatusOr<int> code = TokendProcess::RunToExit(args, absl::Seconds(60), output, env);
    EXPECT_TRUE(code.ok()) << code.status();
    return code.ok() ? *code : -1;
  }

  int RunTokenctl(const TokendProcess& replica, std::vector<std::string> args,
                  std::string* output) {
    std::vector<std::string> argv = {TokenctlBinary(), "--addr=" + replica.grpc_address()};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<int> code = RunProgram(argv, absl::Seconds(30), output);
    EXPECT_TRUE(code.ok()) << code.status();
    return code.ok() ? *code : -1;
  }

  v1::TokenResponse IssueOn(v1::TokenService::Stub& on, const std::string& subject) {
    v1::IssueRequest request;
    request.set_subject(subject);
    request.add_audience("api");
    v1::TokenResponse response;
    ::grpc::Status status = on.Issue(ContextWithDeadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::VerifyResponse VerifyOn(v1::TokenService::Stub& on, const std::string& token) {
    v1::VerifyRequest request;
    request.set_access_token(token);
    request.set_audience("api");
    v1::VerifyResponse response;
    ::grpc::Status status = on.Verify(ContextWithDeadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Waits until `token` fails with UNKNOWN_KEY on every replica: how long it took.
  std::optional<absl::Duration> WaitUntilUnknownKeyEverywhere(const std::string& token,
                                                              absl::Duration timeout) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < timeout) {
      bool everywhere = true;
      for (size_t i = 0; i < stubs_.size(); ++i) {
        v1::VerifyResponse verified = VerifyOn(stub(i), token);
        if (verified.valid() || verified.error() != v1::VERIFY_ERROR_UNKNOWN_KEY) {
          everywhere = false;
        }
      }
      if (everywhere) return absl::Now() - start;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  // Every column that matters of every stored key, for before/after comparisons.
  std::string KeyTableSnapshot() {
    absl::StatusOr<std::string> rows =
        Psql(database_->dsn(),
             "SELECT coalesce(string_agg(kid || ':' || state || ':' || kek_id || ':' || "
             "md5(encrypted_private_key) || ':' || tokend_ts_to_micros(activates_at) || ':' || "
             "tokend_ts_to_micros(retires_at), ',' ORDER BY kid), '') FROM signing_keys");
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : "";
  }

  ScratchDir dir_;
  std::unique_ptr<testing::PgTestDatabase> database_;
  std::string kek_;
  std::string kek_file_;
  std::vector<std::unique_ptr<TokendProcess>> replicas_;
  std::vector<std::unique_ptr<v1::TokenService::Stub>> stubs_;
};

// ---- rotation under load -------------------------------------------------------------------

TEST_F(TokendKeysTest, RotationsOnTwoReplicasNeverFailAVerificationAnywhere) {
  // Publication lead = jwks_max_age 1s + skew 0 + propagation (reload 1s + 1s) = 3s, so keys
  // rotate every 3s; retired keys stay 5s + 2s.
  const std::vector<std::string> flags = {"--key_rotation_period=3s", "--jwks_max_age=1s",
                                          "--clock_skew=0s",          "--access_ttl_max=5s",
                                          "--access_ttl_default=5s",  "--key_reload_interval=1s"};
  TokendProcess* a = StartReplica(flags);
  TokendProcess* b = StartReplica(flags);
  ASSERT_TRUE(a != nullptr && b != nullptr);

  const char* source_dir = TOKEND_E2E_SOURCE_DIR;
  absl::StatusOr<std::unique_ptr<LineProcess>> verifier = LineProcess::Start(
      {"/usr/bin/python3", absl::StrCat(source_dir, "/jwks_caching_verifier.py"),
       absl::StrCat("--jwks-url=http://127.0.0.1:", a->http_port(), "/.well-known/jwks.json"),
       absl::StrCat("--jwks-url=http://127.0.0.1:", b->http_port(), "/.well-known/jwks.json"),
       "--audience=api", "--issuer=tokend"},
      dir_.File("verifier.log"));
  ASSERT_TRUE(verifier.ok()) << verifier.status();

  struct Issued {
    std::string token;
    absl::Time expires_at;
  };
  std::deque<Issued> recent;
  std::set<std::string> kids;
  std::vector<std::string> failures;
  int checks = 0;
  const auto check = [&](const std::string& token, const char* what) {
    for (size_t i = 0; i < 2; ++i) {
      v1::VerifyResponse verified = VerifyOn(stub(i), token);
      ++checks;
      if (!verified.valid()) {
        failures.push_back(absl::StrCat(what, " on replica ", i, ": ",
                                        v1::VerifyError_Name(verified.error()), " kid ",
                                        KidOf(token)));
      }
    }
    absl::StatusOr<std::string> answer = (*verifier)->Exchange(token, absl::Seconds(10));
    ++checks;
    if (!answer.ok() || !absl::StartsWith(*answer, "OK ")) {
      failures.push_back(absl::StrCat(
          what, " in the caching verifier: ", answer.ok() ? *answer : answer.status().ToString()));
    }
  };

  const absl::Time end = absl::Now() + absl::Seconds(16);
  for (int i = 0; absl::Now() < end; ++i) {
    v1::TokenResponse issued = IssueOn(stub(i % 2), absl::StrCat("user-", i));
    ASSERT_FALSE(issued.access_token().empty());
    kids.insert(KidOf(issued.access_token()));
    check(issued.access_token(), "a fresh token");
    recent.push_back({issued.access_token(), absl::FromUnixSeconds(issued.expires_at().seconds())});
    // The oldest token still comfortably valid: its key may have retired meanwhile.
    while (!recent.empty() && recent.front().expires_at < absl::Now() + absl::Seconds(1)) {
      recent.pop_front();
    }
    if (!recent.empty()) check(recent.front().token, "an older token");
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }
  verifier->reset();  // the verifier exits and logs its fetch count
  std::cout << "keys seen: " << kids.size() << ", verifications: " << checks
            << ", failures: " << failures.size() << "\n"
            << ReadFile(dir_.File("verifier.log"));
  for (size_t i = 0; i < std::min<size_t>(failures.size(), 10); ++i) {
    ADD_FAILURE() << failures[i];
  }
  EXPECT_TRUE(failures.empty());
  EXPECT_GE(kids.size(), 4u) << "expected at least three rotations in 16 s";
  EXPECT_GT(checks, 300);
}

// ---- emergency removal ---------------------------------------------------------------------

TEST_F(TokendKeysTest, EmergencyRemovalStopsAKeyOnBothReplicasWithinSeconds) {
  // A long reload interval: the change feed (LISTEN/NOTIFY) must carry the removal.
  const std::vector<std::string> flags = {"--key_admin_rpcs", "--key_reload_interval=60s"};
  TokendProcess* a = StartReplica(flags);
  TokendProcess* b = StartReplica(flags);
  ASSERT_TRUE(a != nullptr && b != nullptr);

  // Through the admin RPC (tokenctl), on replica A.
  const std::string first = IssueOn(stub(0), "alice").access_token();
  const std::string first_kid = KidOf(first);
  ASSERT_TRUE(VerifyOn(stub(1), first).valid());
  std::string output;
  ASSERT_EQ(RunTokenctl(*a, {"keys", "remove", "--reason=e2e: leaked", "--", first_kid}, &output),
            0)
      << output;
  EXPECT_THAT(output, HasSubstr("removed " + first_kid));
  std::optional<absl::Duration> took = WaitUntilUnknownKeyEverywhere(first, absl::Seconds(5));
  ASSERT_TRUE(took.has_value()) << "a removed key still verifies after 5 s";
  std::cout << "removal via RPC stopped the key on both replicas in " << absl::FormatDuration(*took)
            << "\n";
  absl::StatusOr<HttpResponse> jwks = HttpGet(b->http_port(), "/.well-known/jwks.json");
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  EXPECT_THAT(jwks->body, Not(HasSubstr(first_kid)));

  // A new key signs, on both replicas.
  const std::string second = IssueOn(stub(1), "bob").access_token();
  const std::string second_kid = KidOf(second);
  EXPECT_NE(second_kid, first_kid);
  EXPECT_TRUE(VerifyOn(stub(0), second).valid());

  // Through `tokend keys remove`, next to the database.
  ASSERT_EQ(RunTokend({"keys", "remove", "--kek_file=" + kek_file_, "--reason=e2e: cli", "--",
                       second_kid},
                      &output),
            0)
      << output;
  took = WaitUntilUnknownKeyEverywhere(second, absl::Seconds(5));
  ASSERT_TRUE(took.has_value()) << "a key removed with `tokend keys remove` still verifies";
  std::cout << "removal via CLI stopped the key on both replicas in " << absl::FormatDuration(*took)
            << "\n";
  EXPECT_TRUE(VerifyOn(stub(0), IssueOn(stub(1), "carol").access_token()).valid());

  ASSERT_EQ(RunTokend({"keys", "list"}, &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("e2e: leaked"));
  EXPECT_THAT(output, HasSubstr("e2e: cli"));
  ASSERT_EQ(RunTokenctl(*a, {"keys", "list"}, &output), 0) << output;
  EXPECT_THAT(output, HasSubstr(first_kid));
  EXPECT_THAT(output, HasSubstr("removed"));
}

// ---- no private key in clear at rest -------------------------------------------------------

TEST_F(TokendKeysTest, DatabaseDumpHoldsNoPrivateKeyInClear) {
  TokendProcess* a = StartReplica({});
  ASSERT_NE(a, nullptr);
  std::string output;
  ASSERT_EQ(RunTokend({"keys", "rotate", "--kek_file=" + kek_file_}, &output), 0) << output;
  absl::StatusOr<std::string> pem = GeneratePrivateKeyPem(jwt::Algorithm::kES256);
  ASSERT_TRUE(pem.ok()) << pem.status();
  const std::string pem_file = dir_.Write("imported.pem", *pem);
  ASSERT_EQ(
      RunTokend({"keys", "import", pem_file, "--as=retired", "--kek_file=" + kek_file_}, &output),
      0)
      << output;
  ASSERT_EQ(a->Terminate(), std::optional<int>(0));

  const char* bin = std::getenv("TOKEND_TEST_PG_BIN");
  const std::string dump_file = dir_.File("dump.sql");
  ASSERT_EQ(
      RunProgram({absl::StrCat(bin != nullptr ? bin : "/usr/lib/postgresql/15/bin", "/pg_dump"),
                  "--no-owner", "-f", dump_file, "-d", database_->dsn()},
                 absl::Seconds(60), &output),
      absl::StatusOr<int>(0))
      << output;
  const std::string dump = ReadFile(dump_file);
  ASSERT_THAT(dump, HasSubstr("signing_keys"));

  // The test holds the KEK, so it can recover every private key, and then look for it.
  storage::PostgresOptions options;
  options.dsn = database_->dsn();
  absl::StatusOr<std::unique_ptr<storage::PostgresKeyStore>> store =
      storage::PostgresKeyStore::Connect(options);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<storage::SigningKeyRecord>> records = (*store)->ListKeys();
  ASSERT_TRUE(records.ok()) << records.status();
  absl::StatusOr<keys::Kek> kek = keys::ParseKek(kek_, "test");
  ASSERT_TRUE(kek.ok());
  int scanned = 0;
  for (const storage::SigningKeyRecord& record : *records) {
    if (record.state == storage::KeyState::kRemoved) continue;
    // The envelope itself is in the dump (bytea as hex), so the scan looks at the right data.
    EXPECT_THAT(dump, HasSubstr(absl::BytesToHexString(record.encrypted_private_key)));
    absl::StatusOr<jwt::SigningKey> key = keys::OpenSigningKey(keys::KekRing(*kek), record);
    ASSERT_TRUE(key.ok()) << key.status();
    const std::string der(key->ExportPrivatePkcs8Der().ExposeSecret());
    std::vector<std::string> forms = {der, absl::BytesToHexString(der), absl::Base64Escape(der),
                                      absl::WebSafeBase64Escape(der)};
    // The private scalar alone (the last 32 bytes of an Ed25519 PKCS#8).
    if (record.algorithm == "EdDSA") {
      const std::string raw = der.substr(der.size() - 32);
      forms.insert(forms.end(), {raw, absl::BytesToHexString(raw), absl::Base64Escape(raw),
                                 absl::WebSafeBase64Escape(raw)});
    }
    // Every line of its PEM, as an operator's file would hold it.
    const std::string base64 = absl::Base64Escape(der);
    for (absl::string_view line : absl::StrSplit(base64, absl::ByLength(64))) {
      if (line.size() >= 16) forms.emplace_back(line);
    }
    for (const std::string& form : forms) {
      EXPECT_THAT(dump, Not(HasSubstr(form))) << "private key material of " << record.kid;
    }
    ++scanned;
  }
  for (absl::string_view line : absl::StrSplit(*pem, '\n')) {
    if (line.size() >= 16 && !absl::StartsWith(line, "-----")) {
      EXPECT_THAT(dump, Not(HasSubstr(std::string(line)))) << "the imported PEM";
    }
  }
  EXPECT_GE(scanned, 3) << "generated active and next keys plus the imported one";
}

// ---- wrong key-encryption key --------------------------------------------------------------

TEST_F(TokendKeysTest, WrongKekIsRefusedWithAClearMessageAndNothingIsOverwritten) {
  TokendProcess* a = StartReplica({"--key_rotation_period=2s", "--jwks_max_age=0s",
                                   "--clock_skew=0s", "--key_reload_interval=1s"});
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->Terminate(), std::optional<int>(0));
  std::this_thread::sleep_for(std::chrono::seconds(3));  // a rotation is now overdue
  const std::string before = KeyTableSnapshot();
  ASSERT_FALSE(before.empty());

  const std::string wrong = NewKekBase64();
  const std::string wrong_file = dir_.Write("wrong_kek", wrong);
  const std::vector<std::string> server = {"--insecure",
                                           "--grpc_listen=127.0.0.1:0",
                                           "--http_listen=127.0.0.1:0",
                                           "--key_rotation_period=2s",
                                           "--jwks_max_age=0s",
                                           "--clock_skew=0s"};
  std::string output;
  std::vector<std::string> args = server;
  args.push_back("--kek_file=" + wrong_file);
  EXPECT_EQ(RunTokend(args, &output), 1) << output;
  EXPECT_THAT(output, HasSubstr("refusing to start"));
  EXPECT_THAT(output, HasSubstr("wrong --kek_file / TOKEND_KEK"));
  EXPECT_THAT(output, HasSubstr(KekIdOf(kek_)));
  EXPECT_THAT(output, HasSubstr(KekIdOf(wrong)));
  EXPECT_THAT(output, Not(HasSubstr(wrong)));  // the KEK itself is never printed
  EXPECT_EQ(KeyTableSnapshot(), before);

  // The same through the environment, and for the admin commands.
  EXPECT_EQ(RunTokend(server, &output, {{"TOKEND_KEK", wrong}}), 1) << output;
  EXPECT_THAT(output, HasSubstr("wrong --kek_file / TOKEND_KEK"));
  EXPECT_EQ(RunTokend({"keys", "rotate", "--immediate", "--kek_file=" + wrong_file}, &output), 1)
      << output;
  EXPECT_EQ(RunTokend({"keys", "remove", "nonexistent", "--kek_file=" + wrong_file}, &output), 1)
      << output;
  EXPECT_EQ(KeyTableSnapshot(), before);

  // The right KEK still works, and catches up with the overdue rotation.
  ASSERT_NE(StartReplica({"--key_rotation_period=2s", "--jwks_max_age=0s", "--clock_skew=0s"}),
            nullptr);
  EXPECT_NE(KeyTableSnapshot(), before);
}

// ---- KEK rotation --------------------------------------------------------------------------

TEST_F(TokendKeysTest, KekRotationReSealsEveryKeyAndTheOldKekStopsWorking) {
  TokendProcess* a = StartReplica({});
  ASSERT_NE(a, nullptr);
  const std::string token = IssueOn(stub(0), "alice").access_token();
  std::string output;
  // Admin RPCs are off by default.
  EXPECT_EQ(RunTokenctl(*a, {"keys", "list"}, &output), 3) << output;
  EXPECT_THAT(output, HasSubstr("PERMISSION_DENIED"));
  ASSERT_EQ(a->Terminate(), std::optional<int>(0));

  const std::string new_kek = NewKekBase64();
  const std::string new_kek_file = dir_.Write("new_kek", new_kek);
  ASSERT_EQ(RunTokend({"keys", "rewrap", "--kek_file=" + new_kek_file,
                       "--previous_kek_file=" + kek_file_},
                      &output),
            0)
      << output;
  EXPECT_THAT(output, HasSubstr("re-sealed"));
  absl::StatusOr<std::string> kek_ids =
      Psql(database_->dsn(),
           "SELECT string_agg(DISTINCT kek_id, ',') FROM signing_keys WHERE state <> 'removed'");
  ASSERT_TRUE(kek_ids.ok()) << kek_ids.status();
  EXPECT_EQ(*kek_ids, KekIdOf(new_kek));

  // The new KEK alone serves the same keys: tokens signed before still verify.
  ASSERT_NE(StartReplica({}, new_kek_file), nullptr);
  EXPECT_TRUE(VerifyOn(stub(1), token).valid());
  // The old KEK alone is refused.
  EXPECT_EQ(RunTokend({"--insecure", "--grpc_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0",
                       "--kek_file=" + kek_file_},
                      &output),
            1)
      << output;
  EXPECT_THAT(output, HasSubstr("wrong --kek_file / TOKEND_KEK"));
}

}  // namespace
}  // namespace tokend::e2e
