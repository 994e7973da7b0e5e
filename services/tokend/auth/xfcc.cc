#include "services/tokend/auth/xfcc.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/tokend/auth/absl_view.h"
#include "services/tokend/auth/identity.h"

namespace tokend::auth {
namespace {

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed x-forwarded-client-cert: ", why));
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

bool IsBareValueChar(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Stores one key=value pair in `element`: known keys only; By, Hash, Cert, Chain and Subject
// once; URI and DNS repeatable and never empty.
absl::Status Assign(XfccElement& element, absl::string_view key, std::string value) {
  auto once = [&](std::string& field, bool already, bool allow_empty) -> absl::Status {
    if (already) return Malformed("duplicate key");
    if (value.empty() && !allow_empty) return Malformed("empty value");
    field = std::move(value);
    return absl::OkStatus();
  };
  if (absl::EqualsIgnoreCase(key, "By")) return once(element.by, !element.by.empty(), false);
  if (absl::EqualsIgnoreCase(key, "Hash")) return once(element.hash, !element.hash.empty(), false);
  if (absl::EqualsIgnoreCase(key, "Cert")) return once(element.cert, !element.cert.empty(), false);
  if (absl::EqualsIgnoreCase(key, "Chain")) {
    return once(element.chain, !element.chain.empty(), false);
  }
  if (absl::EqualsIgnoreCase(key, "Subject")) {
    // Istio sends Subject="" for SPIFFE certificates, so an empty Subject is fine.
    absl::Status status = once(element.subject, element.has_subject, true);
    element.has_subject = true;
    return status;
  }
  if (absl::EqualsIgnoreCase(key, "URI") || absl::EqualsIgnoreCase(key, "DNS")) {
    if (value.empty()) return Malformed("empty value");
    (absl::EqualsIgnoreCase(key, "URI") ? element.uris : element.dns).push_back(std::move(value));
    return absl::OkStatus();
  }
  return Malformed("unknown key");
}

}  // namespace

absl::StatusOr<std::vector<XfccElement>> ParseXfcc(std::string_view header) {
  if (header.empty()) return Malformed("empty header");
  if (header.size() > XfccLimits::kMaxHeaderBytes) return Malformed("header too long");
  const size_t n = header.size();
  std::vector<XfccElement> elements;
  XfccElement current;
  size_t pairs = 0;
  size_t i = 0;
  while (true) {
    const size_t key_start = i;
    while (i < n && absl::ascii_isalpha(static_cast<unsigned char>(header[i]))) ++i;
    const std::string_view key = header.substr(key_start, i - key_start);
    if (key.empty()) return Malformed("expected a key");
    if (i >= n || header[i] != '=') return Malformed("expected '=' after a key");
    ++i;

    std::string value;
    if (i < n && header[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        const auto c = static_cast<unsigned char>(header[i]);
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        if (IsControl(c)) return Malformed("control character in a quoted value");
        if (c == '\\') {
          if (i + 1 >= n) return Malformed("dangling escape");
          const char next = header[i + 1];
          if (next == '"' || next == '\\') {
            value.push_back(next);
            i += 2;
            continue;
          }
          // Any other escape is kept verbatim (an RFC 2253 escape inside a Subject).
        }
        value.push_back(static_cast<char>(c));
        ++i;
      }
      if (!closed) return Malformed("unterminated quoted value");
    } else {
      while (i < n && header[i] != ';' && header[i] != ',') {
        if (!IsBareValueChar(static_cast<unsigned char>(header[i]))) {
          return Malformed("invalid character in an unquoted value");
        }
        value.push_back(header[i++]);
      }
    }
    if (absl::Status status = Assign(current, ToAbsl(key), std::move(value)); !status.ok()) {
      return status;
    }
    if (++pairs > XfccLimits::kMaxPairsPerElement) return Malformed("too many pairs in an element");

    if (i == n) {
      elements.push_back(std::move(current));
      break;
    }
    if (header[i] == ';') {
      ++i;
      continue;
    }
    if (header[i] == ',') {
      elements.push_back(std::move(current));
      current = XfccElement();
      pairs = 0;
      if (elements.size() >= XfccLimits::kMaxElements) return Malformed("too many elements");
      ++i;
      continue;
    }
    return Malformed("unexpected character after a value");
  }
  return elements;
}

absl::StatusOr<std::string> CommonNameFromDn(std::string_view dn) {
  const size_t n = dn.size();
  size_t i = 0;
  std::string common_name;
  bool found = false;
  while (i < n) {
    const size_t type_start = i;
    while (i < n && (absl::ascii_isalnum(static_cast<unsigned char>(dn[i])) || dn[i] == '.' ||
                     dn[i] == '-')) {
      ++i;
    }
    const std::string_view type = dn.substr(type_start, i - type_start);
    if (type.empty() || i >= n || dn[i] != '=') {
      return absl::InvalidArgumentError("malformed subject DN: expected type=value");
    }
    ++i;
    if (i < n && dn[i] == '#') {
      return absl::InvalidArgumentError("malformed subject DN: hex-encoded values are refused");
    }
    std::string value;
    while (i < n && dn[i] != ',' && dn[i] != '+') {
      const auto c = static_cast<unsigned char>(dn[i]);
      if (IsControl(c) || c == '"' || c == ';' || c == '<' || c == '>') {
        return absl::InvalidArgumentError("malformed subject DN: unescaped special character");
      }
      if (c != '\\') {
        value.push_back(static_cast<char>(c));
        ++i;
        continue;
      }
      if (i + 1 >= n) return absl::InvalidArgumentError("malformed subject DN: dangling escape");
      const char next = dn[i + 1];
      int high = HexValue(next);
      if (high >= 0 && i + 2 < n && HexValue(dn[i + 2]) >= 0) {
        value.push_back(static_cast<char>(high * 16 + HexValue(dn[i + 2])));
        i += 3;
        continue;
      }
      if (std::string_view(",+\"\\<>;= #").find(next) == std::string_view::npos) {
        return absl::InvalidArgumentError("malformed subject DN: invalid escape");
      }
      value.push_back(next);
      i += 2;
    }
    if (!found && (absl::EqualsIgnoreCase(ToAbsl(type), "CN") || type == "2.5.4.3")) {
      common_name = std::move(value);
      found = true;
    }
    if (i < n) {
      ++i;  // the ',' or '+'
      if (i == n) return absl::InvalidArgumentError("malformed subject DN: trailing separator");
    }
  }
  return common_name;
}

absl::StatusOr<std::string> UrlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return absl::InvalidArgumentError("bad percent escape");
    int high = HexValue(text[i + 1]);
    int low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) return absl::InvalidArgumentError("bad percent escape");
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

absl::StatusOr<std::string> IdentityFromXfcc(std::string_view header) {
  absl::StatusOr<std::vector<XfccElement>> elements = ParseXfcc(header);
  if (!elements.ok()) return absl::UnauthenticatedError(elements.status().message());
  // Envoy appends: the last element is the nearest (trusted) proxy's own testimony.
  const XfccElement& nearest = elements->back();
  CertificateNames names;
  names.uris = nearest.uris;
  names.dns = nearest.dns;
  if (!nearest.subject.empty()) {
    absl::StatusOr<std::string> cn = CommonNameFromDn(nearest.subject);
    if (!cn.ok()) {
      return absl::UnauthenticatedError(
          absl::StrCat("x-forwarded-client-cert: ", cn.status().message()));
    }
    names.common_name = *std::move(cn);
  }
  if (names.uris.empty() && names.dns.empty() && names.common_name.empty() &&
      !nearest.cert.empty()) {
    absl::StatusOr<std::string> pem = UrlDecode(nearest.cert);
    if (!pem.ok()) {
      return absl::UnauthenticatedError("x-forwarded-client-cert: Cert is not URL-encoded PEM");
    }
    absl::StatusOr<CertificateNames> from_cert = NamesFromCertificatePem(*pem);
    if (!from_cert.ok()) {
      return absl::UnauthenticatedError("x-forwarded-client-cert: Cert does not parse");
    }
    names = *std::move(from_cert);
  }
  absl::StatusOr<std::string> identity = IdentityFromNames(names);
  if (!identity.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("x-forwarded-client-cert: ", identity.status().message()));
  }
  return identity;
}

}  // namespace tokend::auth
