#include "services/tokend/auth/tls_files.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace tokend::auth {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

using BioPtr = std::unique_ptr<BIO, BioFree>;

absl::Status Problem(const std::string& flag, const std::string& path, absl::string_view what) {
  ERR_clear_error();
  return absl::FailedPreconditionError(absl::StrCat(flag, " ", path, ": ", what));
}

}  // namespace

absl::Status ValidateTlsFiles(const TlsFiles& files) {
  if (files.cert.empty() || files.key.empty()) {
    return absl::FailedPreconditionError("--tls_cert and --tls_key are both required");
  }
  if (files.reload_interval < absl::Seconds(1)) {
    return absl::FailedPreconditionError("the TLS reload interval must be at least 1s");
  }
  BioPtr cert_bio(BIO_new_file(files.cert.c_str(), "r"));
  if (cert_bio == nullptr) return Problem("--tls_cert", files.cert, "cannot be read");
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return Problem("--tls_cert", files.cert, "no PEM certificate in it");

  BioPtr key_bio(BIO_new_file(files.key.c_str(), "r"));
  if (key_bio == nullptr) return Problem("--tls_key", files.key, "cannot be read");
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return Problem("--tls_key", files.key, "no unencrypted PEM private key in it");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return Problem("--tls_key", files.key, "does not belong to the --tls_cert certificate");
  }

  if (!files.client_ca.empty()) {
    BioPtr ca_bio(BIO_new_file(files.client_ca.c_str(), "r"));
    if (ca_bio == nullptr) return Problem("--tls_client_ca", files.client_ca, "cannot be read");
    std::unique_ptr<X509, X509Free> ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
    if (ca == nullptr) {
      return Problem("--tls_client_ca", files.client_ca, "no PEM certificate in it");
    }
  }
  ERR_clear_error();
  return absl::OkStatus();
}

}  // namespace tokend::auth
