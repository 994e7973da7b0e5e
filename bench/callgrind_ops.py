#!/usr/bin/python3
"""Instructions per operation of jwt_bench cases, counted by callgrind.

Wall-clock figures on a shared machine move with the neighbours' load; instruction counts do
not. For each case this runs jwt_bench under `valgrind --tool=callgrind`, collecting only inside
the timed benchmark loops (--toggle-collect on the benchmark lambda), and divides the inclusive
cost of the measured function by its number of calls.

Usage (after building with -DTOKEND_BUILD_BENCH=ON):
  /usr/bin/python3 bench/callgrind_ops.py                      # EdDSA and ES256, tokend and openssl
  /usr/bin/python3 bench/callgrind_ops.py BM_Verify/HS256/libjwt BM_Verify/HS256/tokend
Keeps the callgrind files in --out-dir for callgrind_annotate / kcachegrind.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

# The function whose inclusive cost is one operation, per (operation, implementation).
FUNCTIONS = {
    ("Sign", "tokend"): r":tokend::jwt::SignAccessToken\b",
    ("Verify", "tokend"): r"verifier\.cc:tokend::jwt::JwtVerifier::VerifyAndDecode\(",
    ("Sign", "openssl"): r"openssl_baseline\.cc:tokend::bench::OpenSslBaseline::Sign\b",
    ("Verify", "openssl"): r"openssl_baseline\.cc:tokend::bench::OpenSslBaseline::Verify\(",
    ("Sign", "libjwt"): r"libjwt_compare\.cc:tokend::bench::\(anonymous namespace\)::Sign\(",
    ("Verify", "libjwt"): r"libjwt_compare\.cc:tokend::bench::\(anonymous namespace\)::Verify\(",
    ("Sign", "cppjwt"): r"cppjwt_compare\.cc:tokend::bench::\(anonymous namespace\)::Sign\(",
    ("Verify", "cppjwt"): r"cppjwt_compare\.cc:tokend::bench::\(anonymous namespace\)::Verify\(",
}
DEFAULT_CASES = [f"BM_{op}/{alg}/{impl}" for alg in ("EdDSA", "ES256") for op in ("Sign", "Verify")
                 for impl in ("tokend", "openssl")]
COST = re.compile(r"\s*([\d,]+) \([^)]*\)\s+\*\s+(.*)")
CALLS = re.compile(r"\(([\d,]+)x\)")


def per_call(annotated, function):
    """(inclusive Ir, calls) of the heaviest entry matching `function` in a --tree=caller dump."""
    pattern = re.compile(function)
    best = None
    lines = annotated.splitlines()
    for i, line in enumerate(lines):
        m = COST.match(line)
        if not m or not pattern.search(m.group(2)):
            continue
        cost = int(m.group(1).replace(",", ""))
        calls = 0
        j = i - 1
        while j >= 0 and "<" in lines[j]:  # the callers, each with its call count
            c = CALLS.search(lines[j])
            calls += int(c.group(1).replace(",", "")) if c else 0
            j -= 1
        if calls and (best is None or cost > best[0]):
            best = (cost, calls)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build-bench",
                                 "bench", "jwt_bench")
    parser.add_argument("--bench", default=default_bench)
    parser.add_argument("--min-time", type=float, default=0.1,
                        help="benchmark seconds per case (under valgrind, ~50x slower)")
    parser.add_argument("--out-dir", default=None)
    parser.add_argument("cases", nargs="*", default=DEFAULT_CASES)
    args = parser.parse_args()
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="jwt_bench_callgrind_")
    os.makedirs(out_dir, exist_ok=True)

    status = 0
    print(f"{'case':28} {'Ir/op':>12} {'calls':>6}")
    for case in args.cases:
        parts = case.split("/")
        if len(parts) != 3 or (parts[0][3:], parts[2]) not in FUNCTIONS:
            print(f"{case}: unknown case name", file=sys.stderr)
            status = 2
            continue
        out = os.path.join(out_dir, case.replace("/", "_") + ".callgrind")
        run = subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no",
                              "--toggle-collect=*LambdaBenchmark*Run*",
                              f"--callgrind-out-file={out}", os.path.normpath(args.bench),
                              f"--benchmark_filter=^{case}$",
                              f"--benchmark_min_time={args.min_time}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if run.returncode != 0:
            print(f"{case}: valgrind exited with {run.returncode}:\n{run.stderr[-2000:]}",
                  file=sys.stderr)
            status = 2
            continue
        annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--tree=caller",
                                    "--threshold=100", out], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True, check=True).stdout
        result = per_call(annotated, FUNCTIONS[(parts[0][3:], parts[2])])
        if result is None:
            print(f"{case}: measured function not found in {out}", file=sys.stderr)
            status = 2
            continue
        print(f"{case:28} {result[0] / result[1]:12,.0f} {result[1]:6}", flush=True)
    print(f"# callgrind files: {out_dir}")
    return status


if __name__ == "__main__":
    sys.exit(main())
