#pragma once

#include <string>

#include "absl/time/time.h"
#include "storage/refresh_token.h"
#include "storage/revocation.h"

namespace tokend::storage {

// The rules of RotateRefreshToken, shared by every TokenStore so all implementations decide and
// write alike. A store looks the parent up and locks it (and its family), then:
//   kRotated        mark the parent spent (spent_at = now, child_hash), insert ChildOf(...)
//   kReuseDetected  unless the family is already revoked: mark it revoked and add
//                   FamilyRevocation(parent, now, access_token_margin, reuse_reason)
//   anything else   change nothing
// Free functions; thread-safe.

// What to do with a parent found (and locked) for `request`. Never kNotFound. The rules, in
// order (the first that applies wins):
//  1. a presenting client is named and it is not the parent's           => kClientMismatch
//  2. a requested scope is not among the parent's (the family's grant)  => kScopeNotGranted
//  3. now >= parent.family_expires_at                                   => kExpired
//  4. parent spent: reuse_grace > 0, now <= spent_at + grace and the stored child hash equals
//     the request's child hash => kRevoked if the family is revoked, else kGraceRetry;
//     otherwise => kReuseDetected (also when the family is already revoked: it *is* a reuse,
//     and every concurrent loser of a race must hear so)
//  5. family revoked                                                    => kRevoked
//  6. now >= parent.expires_at                                          => kExpired
//  7.                                                                   => kRotated
// Why 1 and 2 come first: a refused request must not spend the token nor revoke its family,
// whatever state the token is in, so a leaked token presented by another client (or with a
// scope it lacks) cannot be used to burn its owner's family.
// A zero grace never yields kGraceRetry, so with reuse_grace == 0 exactly one caller rotates.
// Why a spent token past its own expiry is still a reuse: presenting it shows the chain leaked.
RotateOutcome DecideRotation(const RefreshTokenRecord& parent, const RotateRequest& request);

// The child a rotation of `parent` inserts (or, for a grace retry, inserted), issued at
// `issued_at`: same family, subject, client, audiences, full scope grant, custom claims and
// family end as the parent; expires at min(issued_at + child.lifetime, family end).
RefreshTokenRecord ChildOf(const RefreshTokenRecord& parent, const ChildToken& child,
                           absl::Time issued_at);

// The revocation of a whole refresh family, the one definition for every store (a reuse adds
// it) and for core (Revoke of a refresh token adds it): kind kFamily, key = the family id of
// `member` (any token of the family), not_before = revoked_at = now.
//
// It expires at max(family end, now) + access_token_margin, where the margin is the longest
// access-token lifetime plus the verifiers' clock skew (access_ttl_max + clock_skew). Why: it
// must outlive every access token minted from the family. Those are minted before the family
// ends and verify until at most their exp + clock skew, so the family's end plus the margin
// covers them all; the family's end alone (what reuse detection once used) would let a token
// minted just before the end verify again, for up to the margin, once the entry is pruned. The
// max with now keeps even an entry added after the family ended alive for a full margin.
Revocation FamilyRevocation(const RefreshTokenRecord& member, absl::Time now,
                            absl::Duration access_token_margin, std::string reason);

}  // namespace tokend::storage
