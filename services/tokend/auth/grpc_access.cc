#include "services/tokend/auth/grpc_access.h"

#include <string>
#include <vector>

#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace tokend::auth {
namespace {

constexpr char kForwardedCertHeader[] = "x-forwarded-client-cert";
constexpr char kPemCertProperty[] = "x509_pem_cert";  // TSI_X509_PEM_CERT_PROPERTY

std::string_view View(const ::grpc::string_ref& ref) { return {ref.data(), ref.size()}; }

}  // namespace

GrpcAccessControl::GrpcAccessControl(const CallerResolver& resolver, const Authorizer& authorizer,
                                     AuditLog* audit)
    : resolver_(resolver), authorizer_(authorizer), audit_(audit) {}

Admission GrpcAccessControl::Admit(const ::grpc::ServerContextBase& context,
                                   std::string_view full_method) const {
  // Both live until the end of this function; the facts below are views into them.
  const std::string peer = context.peer();
  const std::shared_ptr<const ::grpc::AuthContext> auth_context = context.auth_context();

  ConnectionFacts facts;
  facts.peer = peer;
  auto [begin, end] = context.client_metadata().equal_range(kForwardedCertHeader);
  for (auto it = begin; it != end; ++it) facts.forwarded_cert_headers.push_back(View(it->second));
  // Only a certificate the handshake verified names the caller.
  if (auth_context != nullptr && auth_context->IsPeerAuthenticated()) {
    std::vector<::grpc::string_ref> pems = auth_context->FindPropertyValues(kPemCertProperty);
    if (!pems.empty()) facts.peer_certificate_pem = View(pems.front());
  }

  DenyReason reason = DenyReason::kUnauthenticated;
  absl::StatusOr<CallerIdentity> caller = resolver_.Resolve(facts, &reason);
  if (!caller.ok()) {
    authorizer_.RecordDenied(full_method, reason);
    return Admission::Refused(caller.status(), std::string());
  }
  return authorizer_.Admit(*caller, full_method);
}

void GrpcAccessControl::Audit(const AuditEvent& event) const {
  if (audit_ != nullptr) audit_->Record(event);
}

std::shared_ptr<::grpc::ServerCredentials> MakeTlsServerCredentials(const TlsFiles& files) {
  const auto seconds = static_cast<unsigned int>(absl::ToInt64Seconds(files.reload_interval) < 1
                                                     ? 1
                                                     : absl::ToInt64Seconds(files.reload_interval));
  auto provider = std::make_shared<::grpc::experimental::FileWatcherCertificateProvider>(
      files.key, files.cert, files.client_ca, seconds);
  ::grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!files.client_ca.empty()) {
    options.watch_root_certs();
    // Deny by default at the transport too: no verified client certificate, no connection.
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return ::grpc::experimental::TlsServerCredentials(options);
}

}  // namespace tokend::auth
