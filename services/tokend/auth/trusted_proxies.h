#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tokend::auth {

// The peers whose x-forwarded-client-cert header tokend believes: a set of CIDR blocks
// ("127.0.0.1/32", "::1/128", "10.0.0.0/8"; a bare address is a /32 or /128) and, with the
// entry "unix", any peer on a Unix domain socket. An IPv4-mapped IPv6 peer (::ffff:a.b.c.d)
// is matched as the IPv4 address. Immutable after Parse, so thread-safe.
class TrustedProxies {
 public:
  TrustedProxies() = default;  // trusts nobody

  // INVALID_ARGUMENT for an entry that is not an address, a CIDR with host bits set
  // ("10.0.0.1/8": almost always a typo) or a prefix length out of range.
  static absl::StatusOr<TrustedProxies> Parse(const std::vector<std::string>& entries);

  // Whether the peer gRPC reports for a call ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000",
  // "ipv6:%5B::1%5D:5000", "unix:/path") is trusted. Anything unparseable is not.
  bool ContainsPeer(std::string_view grpc_peer) const;
  bool empty() const { return blocks_.empty() && !unix_; }

 private:
  struct Block {
    std::array<uint8_t, 16> address{};  // IPv4 uses the first 4 bytes
    bool v6 = false;
    int prefix = 0;
  };
  static bool Matches(const Block& block, const std::array<uint8_t, 16>& address, bool v6);

  std::vector<Block> blocks_;
  bool unix_ = false;
};

}  // namespace tokend::auth
