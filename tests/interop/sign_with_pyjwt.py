#!/usr/bin/python3
"""Signs an access token with an independent implementation and prints it on stdout.

  sign_with_pyjwt.py --dir DIR --alg ALG --lib pyjwt|jwcrypto --mode MODE

The payload is every claim of DIR/expected.json but "kid"; the header is
{"alg": ALG, "typ": "at+jwt", "kid": <kid>}. MODE:
  ours          the core's key (DIR/ALG.private.pem, or DIR/HS256.secret.b64u), kid = ours
  other-key     a fresh key of the same type, kid = ours (the core must say BAD_SIGNATURE)
  generated     a fresh key made by jwcrypto, kid "py-generated"; its JWK (public, or the oct
                JWK for HS256) is written to DIR/ALG.generated.jwk.json for the core to load
  none          an unsigned token, alg "none", kid = ours (PyJWT only)
  hmac-with-public-pem
                alg confusion: HS256 keyed with the PEM of the core's public ALG key, kid =
                ours (built by hand: both libraries refuse to do it)
Exits 1 on error, 3 when a module is missing.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
import interop_common as common  # noqa: E402

GENERATED_KID = "py-generated"


def generate_jwk(alg):
    from jwcrypto import jwk
    if alg == "EdDSA":
        return jwk.JWK.generate(kty="OKP", crv="Ed25519")
    if alg == "ES256":
        return jwk.JWK.generate(kty="EC", crv="P-256")
    if alg == "RS256":
        return jwk.JWK.generate(kty="RSA", size=2048)
    return jwk.JWK.generate(kty="oct", size=256)


def our_jwk(directory, alg):
    from jwcrypto import jwk
    if alg == "HS256":
        return jwk.JWK(kty="oct", k=common.b64u_encode(common.hmac_secret(directory)))
    return jwk.JWK.from_pem(common.read(directory, f"{alg}.private.pem", "rb"))


def sign(lib, alg, key, kid, payload):
    header = {"alg": alg, "typ": "at+jwt", "kid": kid}
    if lib == "pyjwt":
        import jwt
        if alg == "HS256":
            secret = common.b64u_decode(json.loads(key.export())["k"])
        else:
            secret = key.export_to_pem(private_key=True, password=None)
        return jwt.encode(payload, secret, algorithm=alg, headers={"typ": "at+jwt", "kid": kid})
    from jwcrypto import jwt
    token = jwt.JWT(header=header, claims=payload)
    token.make_signed_token(key)
    return token.serialize()


def b64u_json(obj):
    return common.b64u_encode(json.dumps(obj, separators=(",", ":")).encode())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--alg", required=True, choices=common.ALGORITHMS)
    parser.add_argument("--lib", default="pyjwt", choices=("pyjwt", "jwcrypto"))
    parser.add_argument("--mode", default="ours",
                        choices=("ours", "other-key", "generated", "none", "hmac-with-public-pem"))
    args = parser.parse_args()
    common.require_modules()
    exp = common.expected(args.dir)
    payload = common.claims_for_signing(exp)

    if args.mode == "none":
        import jwt
        print(jwt.encode(payload, None, algorithm="none",
                         headers={"typ": "at+jwt", "kid": exp["kid"]}))
        return 0
    if args.mode == "hmac-with-public-pem":
        from cryptography.hazmat.primitives import serialization
        public_pem = serialization.load_pem_private_key(
            common.read(args.dir, f"{args.alg}.private.pem", "rb"), password=None
        ).public_key().public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        signing_input = (b64u_json({"alg": "HS256", "typ": "at+jwt", "kid": exp["kid"]}) + "." +
                         b64u_json(payload))
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        print(signing_input + "." + common.b64u_encode(mac))
        return 0
    if args.mode == "ours":
        key, kid = our_jwk(args.dir, args.alg), exp["kid"]
    elif args.mode == "other-key":
        key, kid = generate_jwk(args.alg), exp["kid"]
    else:
        key, kid = generate_jwk(args.alg), GENERATED_KID
        exported = json.loads(key.export(private_key=True) if args.alg == "HS256"
                              else key.export_public())
        exported["kid"] = kid
        with open(os.path.join(args.dir, f"{args.alg}.generated.jwk.json"), "w") as f:
            json.dump(exported, f)
    print(sign(args.lib, args.alg, key, kid, payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
