#include "tests/testing/test_certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tokend::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

absl::Status OpenSslError(const char* what) {
  return absl::InternalError(absl::StrCat("OpenSSL: ", what));
}

absl::StatusOr<PkeyPtr> NewKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("EVP_EC_gen");
  return key;
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("PEM_write_bio_PrivateKey");
  }
  return BioToString(bio.get());
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("PEM_write_bio_X509");
  return BioToString(bio.get());
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return OpenSslError("X509V3_EXT_conf_nid");
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? absl::OkStatus() : OpenSslError("X509_add_ext");
}

// Builds and signs a certificate for `key` named by `spec`; self-signed when issuer is null.
absl::StatusOr<X509Ptr> MakeCert(const CertSpec& spec, EVP_PKEY* key, bool ca, X509* issuer,
                                 EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof(serial_bytes));
  serial_bytes[0] &= 0x7f;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), absl::ToInt64Seconds(spec.not_before));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  absl::ToInt64Seconds(spec.not_before + spec.lifetime));
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                               -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("tokend tests"), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));

  absl::Status status;
  if (ca) {
    status = AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    if (status.ok())
      status = AddExtension(cert.get(), signer, NID_key_usage, "keyCertSign,cRLSign");
  } else {
    status = AddExtension(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
    if (status.ok()) {
      status = AddExtension(cert.get(), signer, NID_key_usage, "digitalSignature,keyAgreement");
    }
    if (status.ok()) {
      status = AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
    }
  }
  if (status.ok()) status = AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (status.ok() && issuer != nullptr) {
    status = AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  std::vector<std::string> sans;
  for (const std::string& uri : spec.uris) sans.push_back("URI:" + uri);
  for (const std::string& dns : spec.dns) sans.push_back("DNS:" + dns);
  for (const std::string& ip : spec.ips) sans.push_back("IP:" + ip);
  if (status.ok() && !sans.empty()) {
    status = AddExtension(cert.get(), signer, NID_subject_alt_name, absl::StrJoin(sans, ","));
  }
  if (!status.ok()) return status;
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return OpenSslError("X509_sign");
  }
  return cert;
}

}  // namespace

struct TestCa::State {
  PkeyPtr key;
  X509Ptr cert;
};

TestCa::~TestCa() = default;

absl::StatusOr<std::unique_ptr<TestCa>> TestCa::Create(const std::string& name) {
  std::unique_ptr<TestCa> ca(new TestCa());
  ca->state_ = std::make_unique<State>();
  absl::StatusOr<PkeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  ca->state_->key = *std::move(key);
  CertSpec spec;
  spec.common_name = name;
  spec.lifetime = absl::Hours(24 * 30);
  absl::StatusOr<X509Ptr> cert =
      MakeCert(spec, ca->state_->key.get(), /*ca=*/true, nullptr, nullptr);
  if (!cert.ok()) return cert.status();
  ca->state_->cert = *std::move(cert);
  absl::StatusOr<std::string> pem = CertPem(ca->state_->cert.get());
  if (!pem.ok()) return pem.status();
  ca->cert_pem_ = *std::move(pem);
  return ca;
}

absl::StatusOr<KeyAndCert> TestCa::Issue(const CertSpec& spec) {
  absl::StatusOr<PkeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert =
      MakeCert(spec, key->get(), /*ca=*/false, state_->cert.get(), state_->key.get());
  if (!cert.ok()) return cert.status();
  KeyAndCert out;
  absl::StatusOr<std::string> key_pem = KeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<std::string> cert_pem = CertPem(cert->get());
  if (!cert_pem.ok()) return cert_pem.status();
  out.key_pem = *std::move(key_pem);
  out.cert_pem = *std::move(cert_pem);
  return out;
}

absl::StatusOr<KeyAndCert> SelfSignedCert(const CertSpec& spec) {
  absl::StatusOr<PkeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert = MakeCert(spec, key->get(), /*ca=*/false, nullptr, nullptr);
  if (!cert.ok()) return cert.status();
  KeyAndCert out;
  absl::StatusOr<std::string> key_pem = KeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<std::string> cert_pem = CertPem(cert->get());
  if (!cert_pem.ok()) return cert_pem.status();
  out.key_pem = *std::move(key_pem);
  out.cert_pem = *std::move(cert_pem);
  return out;
}

}  // namespace tokend::testing
