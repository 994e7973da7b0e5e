// tokenctl: a command-line client of tokend's gRPC API.
//
//   tokenctl [--addr=127.0.0.1:50051] [--json] [--quiet] <command> [flags] [args]
//            [--tls_ca=CA.pem [--tls_cert=C.pem --tls_key=K.pem] [--tls_server_name=N]]
//     issue   --subject S --audience A [--audience B] [--scope X]... [--claim k=v]... [--ttl 5m]
//             [--refresh]
//     verify  --audience A [--scope X]... [TOKEN]     (reads the token from stdin when absent)
//     refresh [--scope X]... [TOKEN]                  (the refresh token; stdin when absent)
//     revoke  (--token T | --jti J | --refresh-token R | --subject S) [--reason R]
//     jwks
//     keys list | keys rotate [--immediate] | keys remove KID [--reason R]
//             (signing-key administration; the server needs --key_admin_rpcs)
//
// Exit codes: 0 ok / valid, 1 invalid token (verify), 2 usage, 3 RPC error.
// `issue` prints only the access token when stdout is not a terminal (or with --quiet), so
// `tokenctl issue ... | tokenctl verify --audience A` works.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "tokend/v1/token_service.grpc.pb.h"
#include "tools/tokenctl/command_line.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "tokend's gRPC address (host:port)");
ABSL_FLAG(bool, json, false, "print machine-readable JSON");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA bundle tokend's certificate must chain to; any --tls_* flag means TLS (system "
          "roots without --tls_ca)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate for mutual TLS: its SPIFFE ID, DNS name or CN is the identity "
          "tokend sees");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "the name tokend's certificate is checked against (default: the host of --addr)");
ABSL_FLAG(bool, quiet, false, "issue: print only the access token");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "deadline of each RPC");
ABSL_FLAG(std::string, subject, "", "issue: the token's subject; revoke: revoke every token of it");
ABSL_FLAG(std::vector<std::string>, audience, {},
          "issue: an audience (repeatable); verify: the audience expected");
ABSL_FLAG(std::vector<std::string>, scope, {},
          "issue: a granted scope; verify: a required scope; refresh: a down-scope (repeatable)");
ABSL_FLAG(std::vector<std::string>, claim, {},
          "issue: a custom claim k=v (repeatable); v is JSON if it parses as JSON, else a string");
ABSL_FLAG(absl::Duration, ttl, absl::ZeroDuration(), "issue: access token lifetime (0: default)");
ABSL_FLAG(bool, refresh, false, "issue: also mint a refresh token");
ABSL_FLAG(std::string, token, "", "revoke: an access token");
ABSL_FLAG(std::string, jti, "", "revoke: a token id");
ABSL_FLAG(std::string, refresh_token, "", "revoke: a refresh token (revokes its family)");
ABSL_FLAG(std::string, reason, "", "revoke, keys remove: why (recorded)");
ABSL_FLAG(bool, immediate, false,
          "keys rotate: the new key signs at once instead of after being published (verifiers "
          "with a cached JWKS may reject its tokens until they refetch it)");

namespace tokend::tokenctl {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRpc = 3;

using tokend::v1::TokenService;

int Usage(const std::string& message) {
  std::cerr << "tokenctl: " << message << "\n"
            << "usage: tokenctl [--addr=HOST:PORT] [--json] "
               "<issue|verify|refresh|revoke|jwks|keys> ...\n(tokenctl --help for every flag)\n";
  return kExitUsage;
}

int RpcError(const char* method, const grpc::Status& status) {
  static const char* const kCodes[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  int code = static_cast<int>(status.error_code());
  const char* name = code >= 0 && code <= 16 ? kCodes[code] : "UNKNOWN";
  std::cerr << "tokenctl: " << method << " failed: " << name << ": " << status.error_message()
            << "\n";
  return kExitRpc;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.always_print_enums_as_ints = false;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  absl::Time t = absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_timeout)));
}

// The positional argument `index`, or the whole of stdin (trimmed) when it is absent.
std::optional<std::string> ArgOrStdin(const std::vector<std::string>& positional, size_t index) {
  if (positional.size() > index) return positional[index];
  if (isatty(STDIN_FILENO) != 0) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::string trimmed(absl::StripAsciiWhitespace(text));
  if (trimmed.empty()) return std::nullopt;
  return trimmed;
}

// "k=v": v as JSON when it parses as a JSON value (42, true, "s", [..], {..}), else a string.
bool AddClaim(const std::string& spec, google::protobuf::Struct* claims) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  std::string key = spec.substr(0, eq);
  std::string raw = spec.substr(eq + 1);
  google::protobuf::Value value;
  if (!google::protobuf::util::JsonStringToMessage(raw, &value).ok()) {
    value.Clear();
    value.set_string_value(raw);
  }
  (*claims->mutable_fields())[key] = value;
  return true;
}

int PrintTokens(const tokend::v1::TokenResponse& response, bool access_token_only) {
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(response) << "\n";
  } else if (access_token_only) {
    std::cout << response.access_token() << "\n";
  } else {
    std::cout << "access_token:       " << response.access_token() << "\n"
              << "token_type:         " << response.token_type() << "\n"
              << "token_id:           " << response.token_id() << "\n"
              << "expires_at:         " << FormatTimestamp(response.expires_at()) << "\n";
    if (!response.refresh_token().empty()) {
      std::cout << "refresh_token:      " << response.refresh_token() << "\n"
                << "refresh_expires_at: " << FormatTimestamp(response.refresh_expires_at()) << "\n";
    }
  }
  return kExitOk;
}

using Repeated = std::map<std::string, std::vector<std::string>>;

const std::vector<std::string>& Values(const Repeated& repeated, const std::string& name) {
  static const std::vector<std::string> kNone;
  auto it = repeated.find(name);
  return it == repeated.end() ? kNone : it->second;
}

int Issue(TokenService::Stub& stub, const Repeated& repeated,
          const std::vector<std::string>& positional) {
  if (positional.size() > 1) return Usage("issue takes no positional arguments");
  tokend::v1::IssueRequest request;
  request.set_subject(absl::GetFlag(FLAGS_subject));
  if (request.subject().empty()) return Usage("issue needs --subject");
  for (const std::string& audience : Values(repeated, "audience")) request.add_audience(audience);
  if (request.audience().empty()) return Usage("issue needs at least one --audience");
  for (const std::string& scope : Values(repeated, "scope")) request.add_scopes(scope);
  for (const std::string& claim : Values(repeated, "claim")) {
    if (!AddClaim(claim, request.mutable_claims())) {
      return Usage(absl::StrCat("--claim wants k=v, got \"", claim, "\""));
    }
  }
  absl::Duration ttl = absl::GetFlag(FLAGS_ttl);
  if (ttl < absl::ZeroDuration()) return Usage("--ttl must be positive");
  if (ttl > absl::ZeroDuration()) {
    request.mutable_ttl()->set_seconds(absl::IDivDuration(ttl, absl::Seconds(1), &ttl));
    request.mutable_ttl()->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(ttl)));
  }
  request.set_include_refresh_token(absl::GetFlag(FLAGS_refresh));
  tokend::v1::TokenResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::Status status = stub.Issue(&context, request, &response);
  if (!status.ok()) return RpcError("Issue", status);
  // Piped into another command, only the access token is wanted (see the file comment).
  bool access_token_only = absl::GetFlag(FLAGS_quiet) || isatty(STDOUT_FILENO) == 0;
  return PrintTokens(response, access_token_only);
}

int Verify(TokenService::Stub& stub, const Repeated& repeated,
           const std::vector<std::string>& positional) {
  if (positional.size() > 2) return Usage("verify takes at most one token");
  const std::vector<std::string>& audiences = Values(repeated, "audience");
  if (audiences.size() != 1)
    return Usage("verify needs exactly one --audience (the one you expect)");
  std::optional<std::string> token = ArgOrStdin(positional, 1);
  if (!token) return Usage("verify needs a token (argument or stdin)");
  tokend::v1::VerifyRequest request;
  request.set_access_token(*token);
  request.set_audience(audiences.front());
  for (const std::string& scope : Values(repeated, "scope")) request.add_required_scopes(scope);
  tokend::v1::VerifyResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::Status status = stub.Verify(&context, request, &response);
  if (!status.ok()) return RpcError("Verify", status);
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(response) << "\n";
  } else if (response.valid()) {
    std::cout << "valid\n"
              << "subject:    " << response.subject() << "\n"
              << "token_id:   " << response.token_id() << "\n"
              << "expires_at: " << FormatTimestamp(response.expires_at()) << "\n";
    if (!response.scopes().empty()) {
      std::cout << "scopes:    ";
      for (const std::string& scope : response.scopes()) std::cout << " " << scope;
      std::cout << "\n";
    }
  } else {
    std::cout << "invalid: " << tokend::v1::VerifyError_Name(response.error()) << "\n";
  }
  return response.valid() ? kExitOk : kExitInvalid;
}

int Refresh(TokenService::Stub& stub, const Repeated& repeated,
            const std::vector<std::string>& positional) {
  if (positional.size() > 2) return Usage("refresh takes one refresh token");
  std::optional<std::string> token = ArgOrStdin(positional, 1);
  if (!token) return Usage("refresh needs a refresh token (argument or stdin)");
  tokend::v1::RefreshRequest request;
  request.set_refresh_token(*token);
  for (const std::string& scope : Values(repeated, "scope")) request.add_scopes(scope);
  tokend::v1::TokenResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::Status status = stub.Refresh(&context, request, &response);
  if (!status.ok()) return RpcError("Refresh", status);
  return PrintTokens(response, /*access_token_only=*/false);
}

int Revoke(TokenService::Stub& stub, const std::vector<std::string>& positional) {
  if (positional.size() > 1) return Usage("revoke takes no positional arguments");
  tokend::v1::RevokeRequest request;
  int targets = 0;
  if (std::string v = absl::GetFlag(FLAGS_token); !v.empty()) {
    request.set_access_token(v);
    ++targets;
  }
  if (std::string v = absl::GetFlag(FLAGS_jti); !v.empty()) {
    request.set_token_id(v);
    ++targets;
  }
  if (std::string v = absl::GetFlag(FLAGS_refresh_token); !v.empty()) {
    request.set_refresh_token(v);
    ++targets;
  }
  if (std::string v = absl::GetFlag(FLAGS_subject); !v.empty()) {
    request.set_subject(v);
    ++targets;
  }
  if (targets != 1) {
    return Usage("revoke needs exactly one of --token, --jti, --refresh-token, --subject");
  }
  request.set_reason(absl::GetFlag(FLAGS_reason));
  tokend::v1::RevokeResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::Status status = stub.Revoke(&context, request, &response);
  if (!status.ok()) return RpcError("Revoke", status);
  std::cout << (absl::GetFlag(FLAGS_json) ? "{}" : "revoked") << "\n";
  return kExitOk;
}

int Jwks(TokenService::Stub& stub, const std::vector<std::string>& positional) {
  if (positional.size() > 1) return Usage("jwks takes no positional arguments");
  tokend::v1::GetJwksResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::Status status = stub.GetJwks(&context, tokend::v1::GetJwksRequest(), &response);
  if (!status.ok()) return RpcError("GetJwks", status);
  std::cout << response.jwks_json() << "\n";
  return kExitOk;
}

std::string TimestampOrDash(bool present, const google::protobuf::Timestamp& ts) {
  return present ? FormatTimestamp(ts) : "-";
}

std::string StateName(tokend::v1::SigningKeyState state) {
  std::string name = tokend::v1::SigningKeyState_Name(state);
  const std::string prefix = "SIGNING_KEY_STATE_";
  if (absl::StartsWith(name, prefix)) name = absl::AsciiStrToLower(name.substr(prefix.size()));
  return name;
}

// keys list | keys rotate [--immediate] | keys remove KID [--reason R]
int Keys(TokenService::Stub& stub, const std::vector<std::string>& positional) {
  const std::string sub = positional.size() > 1 ? positional[1] : "";
  grpc::ClientContext context;
  SetDeadline(context);
  if (sub == "list" && positional.size() == 2) {
    tokend::v1::ListSigningKeysResponse response;
    grpc::Status status =
        stub.ListSigningKeys(&context, tokend::v1::ListSigningKeysRequest(), &response);
    if (!status.ok()) return RpcError("ListSigningKeys", status);
    if (absl::GetFlag(FLAGS_json)) {
      std::cout << ToJson(response) << "\n";
      return kExitOk;
    }
    std::printf("%-44s %-6s %-8s %-7s %-20s %-20s %-20s %s\n", "KID", "ALG", "STATE", "SIGNING",
                "ACTIVATES", "RETIRES", "REMOVE_AFTER", "REASON");
    for (const tokend::v1::SigningKeyInfo& key : response.keys()) {
      std::printf("%-44s %-6s %-8s %-7s %-20s %-20s %-20s %s\n", key.kid().c_str(),
                  key.algorithm().c_str(), StateName(key.state()).c_str(),
                  key.signing() ? "yes" : "",
                  TimestampOrDash(key.has_activates_at(), key.activates_at()).c_str(),
                  TimestampOrDash(key.has_retires_at(), key.retires_at()).c_str(),
                  TimestampOrDash(key.has_remove_after(), key.remove_after()).c_str(),
                  key.removal_reason().c_str());
    }
    return kExitOk;
  }
  if (sub == "rotate" && positional.size() == 2) {
    tokend::v1::RotateSigningKeyRequest request;
    request.set_immediate(absl::GetFlag(FLAGS_immediate));
    tokend::v1::RotateSigningKeyResponse response;
    grpc::Status status = stub.RotateSigningKey(&context, request, &response);
    if (!status.ok()) return RpcError("RotateSigningKey", status);
    if (absl::GetFlag(FLAGS_json)) {
      std::cout << ToJson(response) << "\n";
    } else if (response.rotated_now()) {
      std::cout << "rotated: " << response.kid() << " signs now\n";
    } else {
      std::cout << "rotation scheduled: " << response.kid() << " is published and signs from "
                << FormatTimestamp(response.activates_at()) << "\n";
    }
    return kExitOk;
  }
  if (sub == "remove" && positional.size() == 3) {
    tokend::v1::RemoveSigningKeyRequest request;
    request.set_kid(positional[2]);
    request.set_reason(absl::GetFlag(FLAGS_reason));
    tokend::v1::RemoveSigningKeyResponse response;
    grpc::Status status = stub.RemoveSigningKey(&context, request, &response);
    if (!status.ok()) return RpcError("RemoveSigningKey", status);
    if (absl::GetFlag(FLAGS_json)) {
      std::cout << ToJson(response) << "\n";
    } else if (response.previous_state() == tokend::v1::SIGNING_KEY_STATE_REMOVED) {
      std::cout << positional[2] << " was already removed\n";
    } else {
      std::cout << "removed " << positional[2] << " (was " << StateName(response.previous_state())
                << ")";
      if (!response.new_active_kid().empty()) {
        std::cout << "; " << response.new_active_kid() << " signs now";
      }
      std::cout << "\n";
    }
    return kExitOk;
  }
  return Usage("keys list | keys rotate [--immediate] | keys remove KID [--reason R]");
}

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Plaintext unless a --tls_* flag is given; then TLS, and mutual TLS with --tls_cert/--tls_key.
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel() {
  const std::string addr = absl::GetFlag(FLAGS_addr);
  const std::string ca = absl::GetFlag(FLAGS_tls_ca);
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  const std::string server_name = absl::GetFlag(FLAGS_tls_server_name);
  if (ca.empty() && cert.empty() && key.empty() && server_name.empty()) {
    return grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  }
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key must be given together");
  }
  grpc::SslCredentialsOptions ssl;
  if (!ca.empty()) {
    absl::StatusOr<std::string> pem = ReadPem("--tls_ca", ca);
    if (!pem.ok()) return pem.status();
    ssl.pem_root_certs = *std::move(pem);
  }
  if (!cert.empty()) {
    absl::StatusOr<std::string> chain = ReadPem("--tls_cert", cert);
    if (!chain.ok()) return chain.status();
    absl::StatusOr<std::string> private_key = ReadPem("--tls_key", key);
    if (!private_key.ok()) return private_key.status();
    ssl.pem_cert_chain = *std::move(chain);
    ssl.pem_private_key = *std::move(private_key);
  }
  grpc::ChannelArguments args;
  if (!server_name.empty()) args.SetSslTargetNameOverride(server_name);
  return grpc::CreateCustomChannel(addr, grpc::SslCredentials(ssl), args);
}

int Run(int argc, char** argv) {
  // --help lists this binary's own flags (Abseil matches "<program>.cc" by default).
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "tools/tokenctl/main.cc");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      "tokenctl [--addr=HOST:PORT] [--json] <issue|verify|refresh|revoke|jwks|keys> [flags] "
      "[args]");
  absl::StatusOr<PreparedArgs> prepared = PrepareArgs(argc, argv, {"audience", "scope", "claim"});
  if (!prepared.ok()) return Usage(std::string{prepared.status().message()});
  std::vector<char*> args;
  for (std::string& arg : prepared->args) args.push_back(arg.data());
  args.push_back(nullptr);
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(args.size() - 1), args.data());
  std::vector<std::string> positional;
  for (size_t i = 1; i < rest.size(); ++i) positional.emplace_back(rest[i]);
  if (positional.empty()) return Usage("missing command");

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = NewChannel();
  if (!channel.ok()) return Usage(std::string{channel.status().message()});
  TokenService::Stub stub(*channel);
  const std::string& command = positional.front();
  if (command == "issue") return Issue(stub, prepared->repeated, positional);
  if (command == "verify") return Verify(stub, prepared->repeated, positional);
  if (command == "refresh") return Refresh(stub, prepared->repeated, positional);
  if (command == "revoke") return Revoke(stub, positional);
  if (command == "jwks") return Jwks(stub, positional);
  if (command == "keys") return Keys(stub, positional);
  return Usage(absl::StrCat("unknown command \"", command, "\""));
}

}  // namespace
}  // namespace tokend::tokenctl

int main(int argc, char** argv) { return tokend::tokenctl::Run(argc, argv); }
