#!/usr/bin/python3
"""Runs jwt_bench and checks the JWT core against its performance targets.

Prints, per algorithm and operation, the median ops/s (over --repetitions, all in one run with
random interleaving so the implementations share the machine's conditions) of the tokend core,
the bare OpenSSL call, libjwt and cpp-jwt, and the ratios; then the JSON library comparison.

Targets (docs/performance.md):
  * EdDSA and ES256: tokend sign and verify >= 0.90 x bare OpenSSL ops/s;
  * verify: tokend faster than libjwt and cpp-jwt for every algorithm they support.

Exit status: 0 all targets met, 1 a target missed, 2 the benchmark failed or a case is missing.

Usage (after building with -DTOKEND_BUILD_BENCH=ON):
  /usr/bin/python3 bench/compare.py --bench build-bench/bench/jwt_bench
  /usr/bin/python3 bench/compare.py --from-json results.json     # re-analyse a saved run
"""

import argparse
import json
import os
import subprocess
import sys

ALGORITHMS = ["EdDSA", "ES256", "RS256", "HS256"]
OPERATIONS = ["Sign", "Verify"]
IMPLEMENTATIONS = ["tokend", "openssl", "libjwt", "cppjwt"]
SUPPORTED = {  # what each comparison library really implements
    "libjwt": {"ES256", "RS256", "HS256"},
    "cppjwt": {"ES256", "RS256", "HS256"},
}
OPENSSL_RATIO_TARGET = 0.90
OPENSSL_TARGET_ALGORITHMS = {"EdDSA", "ES256"}
TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def run_benchmark(bench, repetitions, min_time, extra):
    cmd = [
        bench,
        "--benchmark_format=json",
        f"--benchmark_repetitions={repetitions}",
        "--benchmark_report_aggregates_only=true",
        "--benchmark_enable_random_interleaving=true",
        f"--benchmark_min_time={min_time}",
    ] + extra
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        print(f"compare: jwt_bench exited with {proc.returncode}", file=sys.stderr)
        sys.exit(2)
    return json.loads(proc.stdout)


def collect(results):
    """run_name -> {"ops": median ops/s, "cv": cpu-time coefficient of variation} or {"error"}."""
    cases = {}
    for b in results.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            cases[name] = {"error": b.get("error_message", "error")}
            continue
        if b.get("run_type") != "aggregate":
            continue
        entry = cases.setdefault(name, {})
        if b.get("aggregate_name") == "median":
            seconds = b["cpu_time"] * TIME_UNITS[b.get("time_unit", "ns")]
            entry["ops"] = 1.0 / seconds if seconds > 0 else float("inf")
        elif b.get("aggregate_name") == "cv":
            entry["cv"] = b["cpu_time"]
    return cases


def fmt_ops(value):
    return f"{value:,.0f}" if value is not None else "-"


def fmt_ratio(a, b):
    if a is None or not b:
        return "-"
    return f"{a / b:.3f}x" if a / b < 10 else f"{a / b:.1f}x"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build-bench",
                                 "bench", "jwt_bench")
    parser.add_argument("--bench", default=default_bench, help="path to jwt_bench")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds per repetition")
    parser.add_argument("--from-json", help="analyse a saved --benchmark_format=json output")
    parser.add_argument("--save-json", help="also write the raw benchmark JSON here")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("extra", nargs="*", help="further jwt_bench flags, after --")
    args = parser.parse_args()

    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)
    else:
        results = run_benchmark(os.path.normpath(args.bench), args.repetitions, args.min_time,
                                args.extra)
        if args.save_json:
            with open(args.save_json, "w") as f:
                json.dump(results, f, indent=1)
    cases = collect(results)

    def ops(op, alg, impl):
        return cases.get(f"BM_{op}/{alg}/{impl}", {}).get("ops")

    problems = []  # missing or failed cases: exit 2
    misses = []  # targets missed: exit 1
    for op in OPERATIONS:
        for alg in ALGORITHMS:
            for impl in IMPLEMENTATIONS:
                if impl in SUPPORTED and alg not in SUPPORTED[impl]:
                    continue
                case = cases.get(f"BM_{op}/{alg}/{impl}")
                if case is None:
                    problems.append(f"BM_{op}/{alg}/{impl}: missing from the output")
                elif "error" in case:
                    problems.append(f"BM_{op}/{alg}/{impl}: {case['error']}")

    ctx = results.get("context", {})
    print(f"# {ctx.get('date', '')}  host={ctx.get('host_name', '?')}  cpus={ctx.get('num_cpus', '?')}"
          f"  MHz={ctx.get('mhz_per_cpu', '?')}  load={ctx.get('load_avg', '?')}")
    reps = max((b.get("repetitions", 0) for b in results.get("benchmarks", [])), default=0)
    print(f"# median over {reps} repetitions (randomly interleaved), ops/s from "
          "CPU time; ratio = tokend ops/s / other ops/s (higher is better for tokend)\n")

    header = ["op", "alg", "tokend", "openssl", "vs openssl", "libjwt", "vs libjwt", "cppjwt",
              "vs cppjwt", "tokend cv"]
    rows = []
    for op in OPERATIONS:
        for alg in ALGORITHMS:
            t = ops(op, alg, "tokend")
            o = ops(op, alg, "openssl")
            lj = ops(op, alg, "libjwt")
            cj = ops(op, alg, "cppjwt")
            cv = cases.get(f"BM_{op}/{alg}/tokend", {}).get("cv")
            rows.append([op, alg, fmt_ops(t), fmt_ops(o), fmt_ratio(t, o), fmt_ops(lj),
                         fmt_ratio(t, lj), fmt_ops(cj), fmt_ratio(t, cj),
                         f"{cv * 100:.1f}%" if cv is not None else "-"])
            if alg in OPENSSL_TARGET_ALGORITHMS and t and o and t / o < OPENSSL_RATIO_TARGET:
                misses.append(f"{op} {alg}: tokend/openssl = {t / o:.3f} < {OPENSSL_RATIO_TARGET}")
            if op == "Verify":
                for impl, other in (("libjwt", lj), ("cppjwt", cj)):
                    if alg in SUPPORTED[impl] and t and other and t <= other:
                        misses.append(f"Verify {alg}: tokend {t:,.0f} ops/s not faster than "
                                      f"{impl} {other:,.0f} ops/s")
    print_table(header, rows, args.markdown)

    # Where the core's time goes: microseconds per operation, one layer added per column.
    def us(name):
        value = cases.get(name, {}).get("ops")
        return f"{1e6 / value:,.2f}" if value else "-"

    stage_rows = []
    for alg in ALGORITHMS:
        stage_rows.append(["Sign", alg, us(f"BM_SignStage/{alg}/openssl_ctxcopy"),
                           us(f"BM_Sign/{alg}/openssl"), us(f"BM_SignStage/{alg}/key_sign"),
                           us(f"BM_SignStage/{alg}/compact_jws"), us(f"BM_Sign/{alg}/tokend")])
    for alg in ALGORITHMS:
        stage_rows.append(["Verify", alg, us(f"BM_VerifyStage/{alg}/openssl_ctxcopy"),
                           us(f"BM_Verify/{alg}/openssl"), us(f"BM_VerifyStage/{alg}/key_verify"),
                           "", us(f"BM_Verify/{alg}/tokend")])
    print()
    print("# where the time goes, us/op: OpenSSL from a cached context | bare OpenSSL | the core's "
          "key op | + JWS encoding | the full core call")
    print_table(["op", "alg", "ctx copy", "openssl", "key op", "compact jws", "tokend"], stage_rows,
                args.markdown)

    json_rows = []
    for name in sorted(n for n in cases if n.startswith("BM_JsonStrict/")):
        case = cases[name]
        if "error" in case:
            json_rows.append([name, "error: " + case["error"], "-"])
            continue
        json_rows.append([name, fmt_ops(case.get("ops")),
                          f"{1e9 / case['ops']:,.0f}" if case.get("ops") else "-"])
    if json_rows:
        print()
        print_table(["strict JSON parse of the token payload", "ops/s", "ns/op"], json_rows,
                    args.markdown)

    print()
    for p in problems:
        print("ERROR  " + p)
    for m in misses:
        print("MISSED " + m)
    if problems:
        return 2
    if misses:
        return 1
    print("all targets met")
    return 0


def print_table(header, rows, markdown):
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for r in [header] + rows:
        print("  ".join(str(x).rjust(w) if i > 1 else str(x).ljust(w)
                        for i, (x, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    sys.exit(main())
