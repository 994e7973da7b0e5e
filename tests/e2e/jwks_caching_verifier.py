#!/usr/bin/python3
"""An independent JWT verifier that caches the JWKS the way mesh sidecars do.

Like Envoy's remote_jwks or Istio's RequestAuthentication, it fetches the JWKS over HTTP, keeps it
for the Cache-Control max-age the server sent, and does NOT refetch when it meets an unknown kid:
a token signed with a key it has not seen yet simply fails. That is the harshest model of a
verifier, and the one publish-before-use must satisfy.

Reads one token per line on stdin and answers one line per token on stdout:
  OK <kid>
  FAIL <kid> <why>
Fetches rotate over the --jwks-url values (several replicas). Uses Debian's python3-jwt
(PyJWT), independent of tokend's own code. Run it with /usr/bin/python3.
"""

import argparse
import json
import re
import sys
import time
import urllib.request

try:
    import jwt
except ImportError as e:
    sys.stderr.write(f"jwks_caching_verifier: {e}: install python3-jwt and use /usr/bin/python3\n")
    sys.exit(3)


class CachedJwks:
    def __init__(self, urls):
        self.urls = urls
        self.fetches = 0
        self.keys = {}
        self.expires = 0.0

    def get(self):
        if time.monotonic() >= self.expires:
            url = self.urls[self.fetches % len(self.urls)]
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read()
                cache_control = response.headers.get("Cache-Control", "")
            match = re.search(r"max-age=(\d+)", cache_control)
            max_age = int(match.group(1)) if match else 0
            self.keys = {k["kid"]: k for k in json.loads(body)["keys"]}
            self.expires = time.monotonic() + max_age
            self.fetches += 1
        return self.keys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jwks-url", action="append", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("--issuer", required=True)
    args = parser.parse_args()
    jwks = CachedJwks(args.jwks_url)
    for line in sys.stdin:
        token = line.strip()
        if not token:
            continue
        kid = "?"
        try:
            kid = jwt.get_unverified_header(token).get("kid", "?")
            keys = jwks.get()
            jwk = keys.get(kid)
            if jwk is None:
                print(f"FAIL {kid} unknown kid (cached JWKS has {len(keys)} keys)")
            else:
                key = jwt.PyJWK(jwk)
                jwt.decode(token, key.key, algorithms=[jwk["alg"]], audience=args.audience,
                           issuer=args.issuer)
                print(f"OK {kid}")
        except Exception as e:  # every failure is an answer, never a crash
            print(f"FAIL {kid} {type(e).__name__}: {e}")
        sys.stdout.flush()
    sys.stderr.write(f"jwks_caching_verifier: {jwks.fetches} JWKS fetches\n")


if __name__ == "__main__":
    main()
