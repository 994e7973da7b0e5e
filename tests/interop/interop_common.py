"""Shared by the interop scripts: module check, reading the files python_interop_test writes.

Files in the test's directory (written by tests/interop/python_interop_test.cc):
  expected.json          the claims (iss sub aud exp iat nbf jti client_id scope store_id) and kid
  <ALG>.private.pem      PKCS#8 private key exported by the core (asymmetric algorithms)
  <ALG>.public.jwk.json  the core's public JWK (asymmetric algorithms)
  <ALG>.secret.b64u      the HS256 secret, base64url without padding
  <ALG>.token            a token signed by the core
"""

import base64
import json
import os
import sys

ALGORITHMS = ("EdDSA", "ES256", "RS256", "HS256")


def require_modules():
    """Imports PyJWT, jwcrypto and cryptography, or exits 3 with an actionable message."""
    try:
        import cryptography  # noqa: F401  (PyJWT's EdDSA/ES256/RS256 backend)
        import jwcrypto  # noqa: F401
        import jwt  # noqa: F401
    except ImportError as e:
        sys.stderr.write(
            f"interop: {e}. Install Debian's python3-jwt, python3-jwcrypto and "
            "python3-cryptography (scripts/setup.sh does) and run with /usr/bin/python3.\n")
        sys.exit(3)


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64u_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def read(directory, name, mode="r"):
    with open(os.path.join(directory, name), mode) as f:
        return f.read()


def expected(directory):
    return json.loads(read(directory, "expected.json"))


def hmac_secret(directory):
    return b64u_decode(read(directory, "HS256.secret.b64u").strip())


def claims_for_signing(exp):
    """The payload for a token to sign: every claim of expected.json but the kid."""
    return {k: v for k, v in exp.items() if k != "kid"}
