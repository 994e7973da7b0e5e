#!/usr/bin/python3
"""A small, bounded, mixed workload against one tokend on loopback, so that every panel of the
dashboard and every metric family has something to show: Issue (with and without refresh
tokens), Verify (valid, wrong audience, tampered, expired, revoked), Refresh (rotations, reuse
of a spent token), Revoke (by token, jti, refresh token, subject) and GetJwks.

The request mix per round is fixed; --rps bounds the pace and --seconds the duration, and it
stops by itself. Messages come from proto/tokend/v1/token_service.proto compiled with protoc at
run time (Debian's protobuf-compiler and python3-grpcio), so nothing generated is checked in.

usage: load.py --addr 127.0.0.1:PORT [--seconds 30] [--rps 40] [--phase-errors]
Prints a one-line summary (calls by RPC and gRPC code) and exits 0 if tokend answered.
"""

import argparse
import collections
import importlib
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

import grpc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load_messages():
    out = tempfile.mkdtemp(prefix="tokend-load-")
    subprocess.run(["protoc", f"-I{ROOT}/proto", "-I/usr/include", f"--python_out={out}",
                    "tokend/v1/token_service.proto"], check=True)
    sys.path.insert(0, out)
    return importlib.import_module("tokend.v1.token_service_pb2")


class Client:
    def __init__(self, addr, pb):
        self.pb = pb
        self.channel = grpc.insecure_channel(addr)
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        svc = "/tokend.v1.TokenService/"
        self.rpcs = {}
        for name, req, resp in (("Issue", pb.IssueRequest, pb.TokenResponse),
                                ("Verify", pb.VerifyRequest, pb.VerifyResponse),
                                ("Refresh", pb.RefreshRequest, pb.TokenResponse),
                                ("Revoke", pb.RevokeRequest, pb.RevokeResponse),
                                ("GetJwks", pb.GetJwksRequest, pb.GetJwksResponse)):
            self.rpcs[name] = self.channel.unary_unary(svc + name,
                                                       request_serializer=req.SerializeToString,
                                                       response_deserializer=resp.FromString)

    def call(self, name, request):
        try:
            response = self.rpcs[name](request, timeout=5)
            code = "OK"
        except grpc.RpcError as e:
            response, code = None, e.code().name
        with self.lock:
            self.counts[(name, code)] += 1
        return response


def round_of_calls(c, pb, rnd):
    """One round: ~12 calls in a realistic proportion (Verify dominates)."""
    user = f"user:{rnd.randint(1, 500)}"
    issued = c.call("Issue", pb.IssueRequest(subject=user, audience=["orders"], scopes=["read:orders"],
                                            include_refresh_token=rnd.random() < 0.5))
    if issued is None:
        return
    token = issued.access_token
    for _ in range(6):
        c.call("Verify", pb.VerifyRequest(access_token=token, audience="orders",
                                          required_scopes=["read:orders"]))
    r = rnd.random()
    if r < 0.15:
        c.call("Verify", pb.VerifyRequest(access_token=token, audience="billing"))  # wrong audience
    elif r < 0.25:
        c.call("Verify", pb.VerifyRequest(access_token=token[:-4] + "AAAA", audience="orders"))  # bad signature
    elif r < 0.30:
        c.call("Verify", pb.VerifyRequest(access_token="not-a-jwt", audience="orders"))  # malformed
    elif r < 0.33:
        c.call("Verify", pb.VerifyRequest(access_token=token, audience="orders",
                                          required_scopes=["write:orders"]))  # insufficient scope
    if issued.refresh_token:
        child = c.call("Refresh", pb.RefreshRequest(refresh_token=issued.refresh_token))
        if child is not None and rnd.random() < 0.08:
            # The spent parent presented again (after the grace window in the demo setup): reuse.
            c.call("Refresh", pb.RefreshRequest(refresh_token=issued.refresh_token))
        elif child is not None and rnd.random() < 0.1:
            c.call("Revoke", pb.RevokeRequest(refresh_token=child.refresh_token, reason="logout"))
    if rnd.random() < 0.1:
        c.call("Revoke", pb.RevokeRequest(access_token=token, reason="load test"))
        c.call("Verify", pb.VerifyRequest(access_token=token, audience="orders"))  # revoked
    if rnd.random() < 0.02:
        c.call("Revoke", pb.RevokeRequest(subject=user, reason="account locked"))
    if rnd.random() < 0.05:
        c.call("Revoke", pb.RevokeRequest(token_id=issued.token_id))
    if rnd.random() < 0.05:
        c.call("GetJwks", pb.GetJwksRequest())
    if rnd.random() < 0.03:
        c.call("Issue", pb.IssueRequest(subject="", audience=["orders"]))  # INVALID_ARGUMENT


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rps", type=float, default=40, help="rounds per second (~12 calls each)")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    pb = load_messages()
    c = Client(args.addr, pb)
    grpc.channel_ready_future(c.channel).result(timeout=10)
    stop_at = time.monotonic() + args.seconds
    interval = args.threads / args.rps

    def worker(n):
        rnd = random.Random(args.seed * 100 + n)
        next_at = time.monotonic()
        while time.monotonic() < stop_at:
            round_of_calls(c, pb, rnd)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.seconds + 30)
    total = sum(c.counts.values())
    summary = ", ".join(f"{m}/{code}={n}" for (m, code), n in sorted(c.counts.items()))
    print(f"load: {total} calls in {args.seconds:.0f}s: {summary}")
    ok = sum(n for (m, code), n in c.counts.items() if code == "OK")
    return 0 if ok > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
