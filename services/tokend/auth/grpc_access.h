#pragma once

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"
#include "services/tokend/auth/audit_log.h"
#include "services/tokend/auth/authorizer.h"
#include "services/tokend/auth/caller_resolver.h"
#include "services/tokend/auth/tls_files.h"

namespace tokend::auth {

// The gRPC side of caller authentication (target tokend::auth_grpc; the policy logic in
// tokend::auth knows no gRPC). Thread-safe; the references must outlive it.
class GrpcAccessControl {
 public:
  // `audit` may be null (no audit trail).
  GrpcAccessControl(const CallerResolver& resolver, const Authorizer& authorizer, AuditLog* audit);

  // Identifies the caller of `context` (its peer address, x-forwarded-client-cert headers and
  // the verified peer certificate, "x509_pem_cert" of the AuthContext) and admits it to
  // `full_method` ("/tokend.v1.TokenService/Issue").
  Admission Admit(const ::grpc::ServerContextBase& context, std::string_view full_method) const;

  // Records `event` in the audit trail, if there is one.
  void Audit(const AuditEvent& event) const;

 private:
  const CallerResolver& resolver_;
  const Authorizer& authorizer_;
  AuditLog* const audit_;
};

// Server credentials for --tls_cert / --tls_key (/ --tls_client_ca): gRPC's
// FileWatcherCertificateProvider re-reads the files every reload_interval, so certificates
// rotated by cert-manager or SPIRE are used for new handshakes without a restart. With a
// client CA, clients must present a certificate that chains to it
// (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY): an expired certificate or one
// from another CA fails the handshake. Call ValidateTlsFiles first.
std::shared_ptr<::grpc::ServerCredentials> MakeTlsServerCredentials(const TlsFiles& files);

}  // namespace tokend::auth
