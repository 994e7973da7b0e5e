#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "jwt/algorithm.h"

namespace tokend::jwt {

class JwtVerifier;

// A token whose signature and claims passed every check of a JwtVerifier. Only the verifier
// can make one, so code that takes `const VerifiedJwt&` knows it acts on verified identity.
class VerifiedJwt {
 public:
  const std::string& issuer() const { return issuer_; }
  const std::string& subject() const { return subject_; }
  const std::vector<std::string>& audiences() const { return audiences_; }
  absl::Time issued_at() const { return issued_at_; }  // InfinitePast() when absent
  absl::Time expires_at() const { return expires_at_; }
  std::optional<absl::Time> not_before() const { return not_before_; }
  const std::string& jwt_id() const { return jwt_id_; }        // empty when absent
  const std::string& client_id() const { return client_id_; }  // empty when absent
  const std::vector<std::string>& scopes() const { return scopes_; }
  const std::string& session_id() const { return session_id_; }  // sid, empty when absent
  const std::string& kid() const { return kid_; }
  Algorithm algorithm() const { return algorithm_; }
  // The whole decoded payload, a JSON object text that passed strict parsing.
  const std::string& payload_json() const { return payload_json_; }

 private:
  friend class JwtVerifier;
  VerifiedJwt() = default;

  std::string issuer_;
  std::string subject_;
  std::vector<std::string> audiences_;
  absl::Time issued_at_ = absl::InfinitePast();
  absl::Time expires_at_;
  std::optional<absl::Time> not_before_;
  std::string jwt_id_;
  std::string client_id_;
  std::vector<std::string> scopes_;
  std::string session_id_;
  std::string kid_;
  Algorithm algorithm_ = Algorithm::kEdDSA;
  std::string payload_json_;
};

}  // namespace tokend::jwt
