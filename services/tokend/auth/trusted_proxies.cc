#include "services/tokend/auth/trusted_proxies.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/tokend/auth/absl_view.h"

namespace tokend::auth {
namespace {

struct ParsedAddress {
  std::array<uint8_t, 16> bytes{};
  bool v6 = false;
};

// Parses a literal IPv4 or IPv6 address; an IPv4-mapped IPv6 address becomes IPv4.
std::optional<ParsedAddress> ParseAddress(std::string_view text) {
  std::string s(text);
  ParsedAddress out;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::memcpy(out.bytes.data(), &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(v6.s6_addr, kMappedPrefix, 12) == 0) {
    std::memcpy(out.bytes.data(), v6.s6_addr + 12, 4);
    return out;
  }
  std::memcpy(out.bytes.data(), v6.s6_addr, 16);
  out.v6 = true;
  return out;
}

}  // namespace

absl::StatusOr<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& entries) {
  TrustedProxies out;
  for (const std::string& entry : entries) {
    if (entry.empty()) continue;
    if (entry == "unix") {
      out.unix_ = true;
      continue;
    }
    std::string_view address = entry;
    std::optional<int> prefix;
    if (size_t slash = entry.find('/'); slash != std::string::npos) {
      address = std::string_view{entry}.substr(0, slash);
      int bits = -1;
      if (!absl::SimpleAtoi(absl::string_view(entry).substr(slash + 1), &bits)) {
        return absl::InvalidArgumentError(absl::StrCat("trusted proxy ", entry, ": bad prefix"));
      }
      prefix = bits;
    }
    std::optional<ParsedAddress> parsed = ParseAddress(address);
    if (!parsed) {
      return absl::InvalidArgumentError(
          absl::StrCat("trusted proxy ", entry, ": not an IP address or CIDR block"));
    }
    Block block;
    block.address = parsed->bytes;
    block.v6 = parsed->v6;
    const int max_bits = block.v6 ? 128 : 32;
    block.prefix = prefix.value_or(max_bits);
    if (block.prefix < 0 || block.prefix > max_bits) {
      return absl::InvalidArgumentError(
          absl::StrCat("trusted proxy ", entry, ": prefix out of range"));
    }
    // Host bits set means the operator probably meant something else: refuse to guess.
    std::array<uint8_t, 16> masked = block.address;
    for (int bit = block.prefix; bit < max_bits; ++bit) {
      masked[bit / 8] &= static_cast<uint8_t>(~(0x80U >> (bit % 8)));
    }
    if (masked != block.address) {
      return absl::InvalidArgumentError(
          absl::StrCat("trusted proxy ", entry, ": host bits are set after the prefix"));
    }
    out.blocks_.push_back(block);
  }
  return out;
}

bool TrustedProxies::Matches(const Block& block, const std::array<uint8_t, 16>& address, bool v6) {
  if (block.v6 != v6) return false;
  int full_bytes = block.prefix / 8;
  if (std::memcmp(block.address.data(), address.data(), static_cast<size_t>(full_bytes)) != 0) {
    return false;
  }
  int rest = block.prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff00U >> rest);
  return (block.address[full_bytes] & mask) == (address[full_bytes] & mask);
}

bool TrustedProxies::ContainsPeer(std::string_view grpc_peer) const {
  absl::string_view peer = ToAbsl(grpc_peer);
  if (absl::StartsWith(peer, "unix:") || absl::StartsWith(peer, "unix-abstract:")) return unix_;
  absl::string_view host;
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    size_t colon = peer.rfind(':');
    if (colon == absl::string_view::npos) return false;
    host = peer.substr(0, colon);
  } else if (absl::ConsumePrefix(&peer, "ipv6:")) {
    // "[addr]:port", percent-encoded ("%5Baddr%5D:port") by newer gRPC versions.
    absl::string_view close;
    if (absl::ConsumePrefix(&peer, "[")) {
      close = "]";
    } else if (absl::ConsumePrefix(&peer, "%5B") || absl::ConsumePrefix(&peer, "%5b")) {
      close = absl::StrContains(peer, "%5D") ? "%5D" : "%5d";
    } else {
      return false;
    }
    size_t end = peer.find(close);
    if (end == absl::string_view::npos) return false;
    host = peer.substr(0, end);
    // A zone id ("fe80::1%25eth0") never matches: a link-local proxy is not a use case.
    if (absl::StrContains(host, '%')) return false;
  } else {
    return false;
  }
  std::optional<ParsedAddress> address = ParseAddress(std::string_view(host.data(), host.size()));
  if (!address) return false;
  for (const Block& block : blocks_) {
    if (Matches(block, address->bytes, address->v6)) return true;
  }
  return false;
}

}  // namespace tokend::auth
