#!/usr/bin/python3
"""Writes the seed corpus of verifier_fuzz (tests/fuzz/corpus/verifier).

Tokens are signed with the published RFC 7515 / RFC 8037 example keys that verifier_fuzz.cc
loads, for its fixed time 1700000000, so the valid seeds really verify there. Uses Debian's
python3-jwcrypto: run with /usr/bin/python3 tests/fuzz/make_seeds.py from the repository root.
"""
import base64
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwcrypto import jwk

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "verifier")
NOW = 1700000000

KEYS = {
    "EdDSA": {"kty": "OKP", "crv": "Ed25519", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
              "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    "ES256": {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
              "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
              "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"},
    "HS256": {"kty": "oct", "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"},
}
RSA = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                  "jose", "rfc_vectors.json")))
for example in RSA["examples"]:
    if example["id"] == "rfc7515-A.2":
        KEYS["RS256"] = example["key"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(alg: str, header: str, payload: str) -> str:
    """Compact JWS over the exact header and payload bytes (jwcrypto's own JWS would refuse the
    hostile headers some seeds need)."""
    signing_input = (b64(header.encode()) + "." + b64(payload.encode())).encode()
    key = jwk.JWK(**KEYS[alg])
    if alg == "HS256":
        sig = hmac.new(base64.urlsafe_b64decode(KEYS[alg]["k"] + "=="), signing_input,
                       hashlib.sha256).digest()
    elif alg == "EdDSA":
        sig = key.get_op_key("sign").sign(signing_input)
    elif alg == "ES256":
        der = key.get_op_key("sign").sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        sig = key.get_op_key("sign").sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode() + "." + b64(sig)


def kid(alg: str) -> str:
    return jwk.JWK(**KEYS[alg]).thumbprint()


def claims(**extra) -> str:
    base = {"iss": "https://issuer.test", "sub": "alice", "aud": "api", "exp": NOW + 300,
            "iat": NOW, "jti": "j-1", "client_id": "c-1", "scope": "read write"}
    base.update(extra)
    return json.dumps({k: v for k, v in base.items() if v is not None}, separators=(",", ":"))


def header(alg: str, **extra) -> str:
    base = {"alg": alg, "kid": kid(alg), "typ": "at+jwt"}
    base.update(extra)
    return json.dumps({k: v for k, v in base.items() if v is not None}, separators=(",", ":"))


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    seeds = {}
    for alg in ("EdDSA", "ES256", "RS256", "HS256"):
        seeds[f"valid_{alg}"] = sign(alg, header(alg), claims())
        seeds[f"valid_{alg}_aud_array"] = sign(alg, header(alg), claims(aud=["x", "api"], sid="s"))
    ed = "EdDSA"
    seeds["expired"] = sign(ed, header(ed), claims(exp=NOW - 3600))
    seeds["nbf_future"] = sign(ed, header(ed), claims(nbf=NOW + 3600))
    seeds["exp_float"] = sign(ed, header(ed), claims(exp=NOW + 300.5))
    seeds["exp_string"] = sign(ed, header(ed), claims(exp=str(NOW + 300)))
    seeds["exp_huge"] = sign(ed, header(ed), '{"iss":"https://issuer.test","aud":"api","exp":1e300}')
    seeds["wrong_typ"] = sign(ed, header(ed, typ="JWT"), claims())
    seeds["crit"] = sign(ed, header(ed, crit=["exp"]), claims())
    seeds["embedded_jwk"] = sign(ed, header(ed, jwk={"kty": "OKP", "crv": "Ed25519",
                                                     "x": KEYS[ed]["x"]}), claims())
    seeds["duplicate_claim"] = sign(ed, header(ed), claims()[:-1] + ',"exp":99999999999}')
    seeds["nested"] = sign(ed, header(ed), claims()[:-1] + ',"x":' + "[" * 20 + "]" * 20 + "}")
    seeds["hs256_with_eddsa_kid"] = sign("HS256", header("HS256", kid=kid(ed)), claims())
    none_header = b64(b'{"alg":"none","typ":"at+jwt"}')
    seeds["alg_none"] = none_header + "." + b64(claims().encode()) + "."
    valid = seeds["valid_ES256"]
    seeds["padded"] = valid.replace(".", "=.", 1)
    seeds["der_like"] = valid.rsplit(".", 1)[0] + "." + b64(b"\x30\x44\x02\x20" + b"\x01" * 32 +
                                                            b"\x02\x20" + b"\x01" * 32)
    seeds["json_object"] = claims()
    seeds["public_jwk"] = json.dumps({"kty": "EC", "crv": "P-256", "x": KEYS["ES256"]["x"],
                                      "y": KEYS["ES256"]["y"]})
    seeds["header_only"] = header(ed)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "w") as f:
            f.write(data)
    print(f"wrote {len(seeds)} seeds to {OUT}")


if __name__ == "__main__":
    main()
