#include "services/tokend/auth/identity.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "services/tokend/auth/absl_view.h"

namespace tokend::auth {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};

constexpr size_t kMaxIdentityBytes = 256;  // core's client_id limit
constexpr std::string_view kSpiffeScheme = "spiffe://";

std::string FromAsn1(const ASN1_STRING* value) {
  if (value == nullptr) return {};
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
          static_cast<size_t>(ASN1_STRING_length(value))};
}

bool IsSpiffeUri(std::string_view uri) {
  // The scheme is case-insensitive in URIs; a SPIFFE ID must spell it in lower case, which
  // IsValidSpiffeId checks afterwards.
  return uri.size() >= kSpiffeScheme.size() &&
         absl::EqualsIgnoreCase(ToAbsl(uri.substr(0, kSpiffeScheme.size())), ToAbsl(kSpiffeScheme));
}

bool IsTrustDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool IsPathChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

}  // namespace

bool IsValidSpiffeId(std::string_view id) {
  if (!absl::StartsWith(ToAbsl(id), ToAbsl(kSpiffeScheme))) return false;
  std::string_view rest = id.substr(kSpiffeScheme.size());
  size_t slash = rest.find('/');
  std::string_view trust_domain = rest.substr(0, slash);
  if (trust_domain.empty()) return false;
  for (char c : trust_domain) {
    if (!IsTrustDomainChar(c)) return false;
  }
  if (slash == std::string_view::npos) return true;
  std::string_view path = rest.substr(slash + 1);
  if (path.empty()) return false;  // no trailing "/"
  for (absl::string_view segment : absl::StrSplit(ToAbsl(path), '/')) {
    if (segment.empty() || segment == "." || segment == "..") return false;
    for (char c : segment) {
      if (!IsPathChar(c)) return false;
    }
  }
  return true;
}

absl::Status ValidateIdentity(std::string_view id) {
  if (id.empty()) return absl::UnauthenticatedError("the client identity is empty");
  if (id.size() > kMaxIdentityBytes) {
    return absl::UnauthenticatedError("the client identity is longer than 256 bytes");
  }
  for (char c : id) {
    if (c < 0x20 || c > 0x7e) {
      return absl::UnauthenticatedError(
          "the client identity must be printable ASCII (no control or non-ASCII characters)");
    }
  }
  if (id.front() == ' ' || id.back() == ' ') {
    return absl::UnauthenticatedError("the client identity starts or ends with a space");
  }
  // Reserved so that `id: anonymous` in a policy can never be claimed by a certificate.
  if (id == kAnonymousId) {
    return absl::UnauthenticatedError("the client identity \"anonymous\" is reserved");
  }
  return absl::OkStatus();
}

absl::StatusOr<CertificateNames> NamesFromCertificatePem(std::string_view pem) {
  if (pem.empty() || pem.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError("no certificate");
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return absl::InvalidArgumentError("the certificate PEM does not parse");

  CertificateNames names;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
      if (name->type == GEN_URI) {
        names.uris.push_back(FromAsn1(name->d.uniformResourceIdentifier));
      } else if (name->type == GEN_DNS) {
        names.dns.push_back(FromAsn1(name->d.dNSName));
      }
    }
  }
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length >= 0 && utf8 != nullptr) {
      names.common_name.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
    }
    OPENSSL_free(utf8);
  }
  return names;
}

absl::StatusOr<std::string> IdentityFromNames(const CertificateNames& names) {
  const std::string* spiffe_id = nullptr;
  for (const std::string& uri : names.uris) {
    if (!IsSpiffeUri(uri)) continue;
    // An SVID has exactly one URI SAN: two SPIFFE IDs make the holder ambiguous.
    if (spiffe_id != nullptr) {
      return absl::UnauthenticatedError("the client certificate has more than one SPIFFE ID");
    }
    spiffe_id = &uri;
  }
  if (spiffe_id != nullptr) {
    if (!IsValidSpiffeId(*spiffe_id)) {
      return absl::UnauthenticatedError("the client certificate's SPIFFE ID is malformed");
    }
    if (absl::Status status = ValidateIdentity(*spiffe_id); !status.ok()) return status;
    return *spiffe_id;
  }
  const std::string* chosen = nullptr;
  if (!names.dns.empty()) {
    chosen = &names.dns.front();
  } else if (!names.common_name.empty()) {
    chosen = &names.common_name;
  }
  if (chosen == nullptr) {
    return absl::UnauthenticatedError(
        "the client certificate names no identity (no SPIFFE ID, DNS name or common name)");
  }
  if (absl::Status status = ValidateIdentity(*chosen); !status.ok()) return status;
  return *chosen;
}

}  // namespace tokend::auth
