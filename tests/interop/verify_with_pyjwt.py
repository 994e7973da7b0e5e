#!/usr/bin/python3
"""Verifies a token signed by the tokend core with two independent implementations.

  verify_with_pyjwt.py --dir DIR --alg ALG          verify DIR/ALG.token with PyJWT and jwcrypto
  verify_with_pyjwt.py --dir DIR --alg ALG --thumbprint
                                                    print jwcrypto's RFC 7638 thumbprint of the key
  verify_with_pyjwt.py --check-modules              exit 0 when the modules import

Checks: signature with the key from the core's public JWK (or the HS256 secret), header alg,
typ "at+jwt" and kid, the audience and issuer, exp/nbf/iat against the wall clock, and every
claim's value. Prints "OK <ALG> pyjwt" and "OK <ALG> jwcrypto"; exits 1 on the first failure,
3 when a module is missing.
"""

import argparse
import json
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
import interop_common as common  # noqa: E402


def fail(message):
    sys.stderr.write(f"verify_with_pyjwt: {message}\n")
    sys.exit(1)


def jwcrypto_key(directory, alg):
    from jwcrypto import jwk
    if alg == "HS256":
        return jwk.JWK(kty="oct", k=common.b64u_encode(common.hmac_secret(directory)))
    return jwk.JWK.from_json(common.read(directory, f"{alg}.public.jwk.json"))


def check_claims(lib, alg, claims, exp):
    for name, value in common.claims_for_signing(exp).items():
        if claims.get(name) != value:
            fail(f"{lib} {alg}: claim {name} is {claims.get(name)!r}, expected {value!r}")


def verify_pyjwt(directory, alg, token, exp):
    import jwt
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "at+jwt":
        fail(f"pyjwt {alg}: header typ is {header.get('typ')!r}, expected 'at+jwt'")
    if header.get("alg") != alg:
        fail(f"pyjwt {alg}: header alg is {header.get('alg')!r}")
    if header.get("kid") != exp["kid"]:
        fail(f"pyjwt {alg}: header kid is {header.get('kid')!r}, expected {exp['kid']!r}")
    if alg == "HS256":
        key = common.hmac_secret(directory)
    else:
        jwk = json.loads(common.read(directory, f"{alg}.public.jwk.json"))
        if jwk.get("kid") != exp["kid"] or jwk.get("alg") != alg or jwk.get("use") != "sig":
            fail(f"pyjwt {alg}: public JWK has kid/alg/use {jwk.get('kid')!r}/"
                 f"{jwk.get('alg')!r}/{jwk.get('use')!r}")
        for private in ("d", "p", "q", "dp", "dq", "qi", "k"):
            if private in jwk:
                fail(f"pyjwt {alg}: public JWK contains the private member {private!r}")
        key = jwt.PyJWK(jwk).key
    try:
        claims = jwt.decode(
            token, key, algorithms=[alg], audience=exp["aud"], issuer=exp["iss"],
            options={"require": ["exp", "iat", "nbf", "iss", "sub", "aud", "jti"]})
    except jwt.PyJWTError as e:
        fail(f"pyjwt {alg}: {type(e).__name__}: {e}")
    check_claims("pyjwt", alg, claims, exp)
    # A wrong audience must fail too, or the check above proves nothing.
    try:
        jwt.decode(token, key, algorithms=[alg], audience="https://other.example", issuer=exp["iss"])
        fail(f"pyjwt {alg}: accepted a wrong audience")
    except jwt.InvalidAudienceError:
        pass
    print(f"OK {alg} pyjwt")


def verify_jwcrypto(directory, alg, token, exp):
    from jwcrypto import jws, jwt
    from jwcrypto.common import JWException
    key = jwcrypto_key(directory, alg)
    check = {name: value for name, value in common.claims_for_signing(exp).items()
             if name not in ("exp", "nbf", "iat")}
    check["exp"] = None  # None: checked against the wall clock
    check["nbf"] = None
    try:
        verified = jwt.JWT(jwt=token, key=key, algs=[alg], check_claims=check)
    except (JWException, jws.InvalidJWSSignature, ValueError) as e:
        fail(f"jwcrypto {alg}: {type(e).__name__}: {e}")
    header = json.loads(verified.header)
    if header.get("typ") != "at+jwt" or header.get("kid") != exp["kid"]:
        fail(f"jwcrypto {alg}: header {header!r}")
    check_claims("jwcrypto", alg, json.loads(verified.claims), exp)
    print(f"OK {alg} jwcrypto")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--alg", choices=common.ALGORITHMS)
    parser.add_argument("--thumbprint", action="store_true")
    parser.add_argument("--check-modules", action="store_true")
    args = parser.parse_args()
    common.require_modules()
    if args.check_modules:
        return 0
    if not args.dir or not args.alg:
        parser.error("--dir and --alg are required")
    if args.thumbprint:
        print(jwcrypto_key(args.dir, args.alg).thumbprint())
        return 0
    exp = common.expected(args.dir)
    token = common.read(args.dir, f"{args.alg}.token").strip()
    verify_pyjwt(args.dir, args.alg, token, exp)
    verify_jwcrypto(args.dir, args.alg, token, exp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
