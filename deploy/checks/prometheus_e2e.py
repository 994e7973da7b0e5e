#!/usr/bin/python3
"""tokend under a real Prometheus, on loopback only, stopping by itself.

  1. starts tokend (--store=memory, or PostgreSQL with --store DSN; ports 0, ready file);
  2. makes a few tokenctl calls (issue | verify, jwks), runs the chart's `helm test` script
     against it, then `promtool check metrics` on the live /metrics;
  3. starts Debian's Prometheus (127.0.0.1, temporary storage, 1s scrape and rule evaluation)
     with deploy/prometheus/tokend-alerts.yaml loaded, scraping tokend as job="tokend";
  4. optionally drives a bounded mixed workload (load.py);
  5. asks Prometheus's HTTP API: up{job="tokend"} == 1, the tokenctl calls counted in
     grpc_server_handled_total, every tokend metric family present, every alert rule evaluated
     with health "ok" and none firing or pending against a healthy tokend, and every query of the
     Grafana dashboard valid (the main panels non-empty);
  6. optionally renders the dashboard to a PNG from that Prometheus (render_dashboard.py).

usage: prometheus_e2e.py --tokend BIN --tokenctl BIN [--store DSN] [--replicas N]
                         [--load-seconds S] [--load-phases 60:20,60:60] [--render OUT.png]
                         [--helm-test helm/tokend/files/helm-test.sh]
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
RULES = os.path.join(ROOT, "deploy/prometheus/tokend-alerts.yaml")
DASHBOARD = os.path.join(ROOT, "deploy/grafana/tokend-dashboard.json")
# The families services/tokend/grpc/rpc_metrics.h and services/tokend/core/token_metrics.h
# register (histograms as their _count).
FAMILIES = [
    "grpc_server_started_total", "grpc_server_handled_total", "grpc_server_handling_seconds_count",
    "tokend_tokens_issued_total", "tokend_verify_results_total", "tokend_refresh_total",
    "tokend_refresh_reuse_detected_total", "tokend_revocations_total", "tokend_denylist_entries",
    "tokend_denylist_last_sync_timestamp_seconds", "tokend_denylist_staleness_seconds",
    "tokend_denylist_propagation_seconds_count", "tokend_store_up", "tokend_db_pool_connections",
    "tokend_signing_key_info", "tokend_signing_key_age_seconds",
]
# Panels that must show data after the tokenctl calls alone.
MUST_HAVE_DATA = {"Instances up", "Requests / s", "Requests by RPC", "Latency p99 by RPC",
                  "Verify results", "Issued tokens and refresh outcomes", "Denylist entries",
                  "Denylist age by instance", "Database up", "Signing keys"}

problems = []
procs = []


def fail(message):
    problems.append(message)
    print(f"FAIL {message}", flush=True)


def ok(message):
    print(f"ok   {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # not up yet
            last = e
        time.sleep(0.25)
    raise TimeoutError(f"{what} (last: {last})")


def prom_query(base, expr):
    q = urllib.parse.urlencode({"query": expr})
    body = json.loads(http_get(f"{base}/api/v1/query?{q}"))
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body.get('error')}")
    return body["data"]["result"]


def start(cmd, log_path, **kw):
    log = open(log_path, "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, **kw)
    procs.append(p)
    return p


def stop_all():
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in reversed(procs):
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokend", required=True)
    ap.add_argument("--tokenctl", required=True)
    ap.add_argument("--store", default="memory")
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--load-seconds", type=float, default=0)
    ap.add_argument("--load-phases", default="", help="SECONDS:RPS,... (overrides --load-seconds)")
    ap.add_argument("--render", default="")
    ap.add_argument("--helm-test", default="", help="the chart's helm test script, run against replica 0")
    ap.add_argument("--timeout", type=float, default=240, help="hard limit for the whole check")
    args = ap.parse_args()
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            sys.exit(f"prometheus_e2e: {tool} not found (Debian package prometheus)")

    def on_alarm(*_):
        raise TimeoutError(f"prometheus_e2e did not finish within {args.timeout:.0f}s")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.timeout))

    tmp = tempfile.mkdtemp(prefix="tokend-prom-")
    try:
        run(args, tmp)
    except Exception as e:
        fail(f"{type(e).__name__}: {e}")
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".log"):
                with open(os.path.join(tmp, name)) as f:
                    print(f"--- {name} (tail)\n{f.read()[-1500:]}")
    finally:
        signal.alarm(0)
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"prometheus e2e: {len(problems)} problem(s)")
    return 1 if problems else 0


def run(args, tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEND_")}
    extra = []
    if args.store != "memory":
        secret = os.path.join(tmp, "refresh-secret")
        with open(secret, "w") as f:
            f.write(os.urandom(24).hex())
        extra.append(f"--refresh_secret_file={secret}")
        key = os.path.join(tmp, "signing-key.pem")  # one key for every replica
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-out", key], check=True, capture_output=True)
        extra.append(f"--signing_key={key}")
        subprocess.run([args.tokend, "migrate", f"--store={args.store}"], check=True, env=env,
                       capture_output=True, timeout=60)
        ok("tokend migrate")

    # --- tokend ---
    ports = []
    for i in range(args.replicas):
        ready = os.path.join(tmp, f"ready{i}.json")
        start([args.tokend, f"--store={args.store}", "--insecure", "--grpc_listen=127.0.0.1:0",
               "--http_listen=127.0.0.1:0", f"--ready_file={ready}", "--refresh_reuse_grace=0s",
               *extra], os.path.join(tmp, f"tokend{i}.log"), env=env)
        wait_for(lambda: os.path.exists(ready), 20, f"tokend {i} ready file")
        with open(ready) as f:
            ports.append(json.load(f))
    grpc = f"127.0.0.1:{ports[0]['grpc_port']}"
    http = f"http://127.0.0.1:{ports[0]['http_port']}"
    ok(f"{args.replicas} tokend replica(s) serving; first: gRPC {grpc}, HTTP {http}")

    # --- a few tokenctl calls ---
    calls = 3
    for _ in range(calls):
        issued = subprocess.run([args.tokenctl, f"--addr={grpc}", "issue", "--subject=ci",
                                 "--audience=api", "--quiet"], capture_output=True, text=True, timeout=20)
        if issued.returncode != 0:
            raise RuntimeError(f"tokenctl issue: {issued.stderr}")
        verified = subprocess.run([args.tokenctl, f"--addr={grpc}", "verify", "--audience=api"],
                                  input=issued.stdout, capture_output=True, text=True, timeout=20)
        if verified.returncode != 0:
            raise RuntimeError(f"tokenctl verify: {verified.stdout}{verified.stderr}")
    subprocess.run([args.tokenctl, f"--addr={grpc}", "jwks"], check=True, capture_output=True, timeout=20)
    ok(f"tokenctl: {calls} x issue | verify, jwks")

    if args.helm_test:
        env_test = dict(env, TOKEND_HOST="127.0.0.1", TOKEND_HTTP_PORT=str(ports[0]["http_port"]),
                        TOKEND_GRPC_PORT=str(ports[0]["grpc_port"]), TOKEND_TEST_GRPC="true",
                        TOKENCTL=args.tokenctl)
        t = subprocess.run(["bash", args.helm_test], env=env_test, capture_output=True, text=True, timeout=60)
        if t.returncode != 0 or "PASS" not in t.stdout:
            fail(f"helm test script against tokend: {t.stdout}{t.stderr}")
        else:
            ok("the chart's helm test script passes against tokend: " + "; ".join(
                l[4:] for l in t.stdout.splitlines() if l.startswith("ok: ")))

    # --- promtool check metrics on the live /metrics ---
    metrics = http_get(f"{http}/metrics")
    check = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True,
                           text=True, timeout=30)
    if check.returncode != 0 or check.stdout.strip() or check.stderr.strip():
        fail(f"promtool check metrics: {check.stdout}{check.stderr}")
    else:
        ok(f"promtool check metrics: {len(metrics.splitlines())} lines, no problem")

    # --- Prometheus ---
    prom_port = free_port()
    prom = f"http://127.0.0.1:{prom_port}"
    config = os.path.join(tmp, "prometheus.yml")
    targets = ", ".join(f'"127.0.0.1:{p["http_port"]}"' for p in ports)
    with open(config, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {RULES}
scrape_configs:
  - job_name: tokend
    static_configs:
      - targets: [{targets}]
""")
    check = subprocess.run(["promtool", "check", "config", config], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"promtool check config: {check.stdout}{check.stderr}")
    start(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
           f"--web.listen-address=127.0.0.1:{prom_port}", "--storage.tsdb.retention.time=2h",
           "--log.level=warn"], os.path.join(tmp, "prometheus.log"))
    wait_for(lambda: http_get(f"{prom}/-/ready").strip(), 30, "Prometheus ready")
    ok(f"Prometheus serving on {prom}")

    # --- load ---
    phases = []
    if args.load_phases:
        phases = [tuple(float(x) for x in p.split(":")) for p in args.load_phases.split(",")]
    elif args.load_seconds:
        phases = [(args.load_seconds, 20)]
    load_started = time.time()
    for seconds, rps in phases:
        loads = []
        for p in ports:
            loads.append(subprocess.Popen(
                [sys.executable, os.path.join(HERE, "load.py"), f"--addr=127.0.0.1:{p['grpc_port']}",
                 f"--seconds={seconds}", f"--rps={rps / len(ports)}", f"--seed={int(rps)}"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        for lp in loads:
            out, _ = lp.communicate(timeout=seconds + 60)
            print(f"     {out.strip()}")
            if lp.returncode != 0:
                fail(f"load.py exited {lp.returncode}")

    # --- ask Prometheus ---
    def up_everywhere():
        r = prom_query(prom, 'up{job="tokend"} == 1')
        return len(r) == len(ports) and r
    wait_for(up_everywhere, 30, 'up{job="tokend"} == 1 for every replica')
    # Five scrapes of every target, so that rates over them exist and the rules saw them.
    wait_for(lambda: len(prom_query(prom, 'count_over_time(up{job="tokend"}[1m]) >= 5')) == len(ports),
             30, "five scrapes of every target")
    ok(f'up{{job="tokend"}} == 1 for {len(ports)} target(s)')

    def issue_counted():
        r = prom_query(prom, 'sum(grpc_server_handled_total{job="tokend", grpc_method="Issue", grpc_code="OK"})')
        return r and float(r[0]["value"][1]) >= calls and r
    r = wait_for(issue_counted, 30, "the tokenctl Issue calls in grpc_server_handled_total")
    ok(f'grpc_server_handled_total{{grpc_method="Issue",grpc_code="OK"}} = {float(r[0]["value"][1]):.0f} (>= {calls})')
    r = prom_query(prom, 'sum(tokend_verify_results_total{job="tokend", result="valid"})')
    if not r or float(r[0]["value"][1]) < calls:
        fail(f"tokend_verify_results_total{{result=valid}} should count the {calls} verifies: {r}")

    names = set(json.loads(http_get(f"{prom}/api/v1/label/__name__/values"))["data"])
    missing = [f for f in FAMILIES if f not in names]
    if missing:
        fail(f"families missing in Prometheus: {', '.join(missing)}")
    else:
        ok(f"all {len(FAMILIES)} tokend metric families stored by Prometheus")

    # Rules: loaded, evaluated, healthy; nothing firing against a healthy tokend.
    def evaluated():
        groups = json.loads(http_get(f"{prom}/api/v1/rules"))["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r.get("health") != "unknown" for r in rules) else None
    rules = wait_for(evaluated, 30, "every alert rule evaluated")
    bad = [f"{r['name']}: {r.get('health')} {r.get('lastError', '')}" for r in rules if r.get("health") != "ok"]
    if bad:
        fail(f"alert rules unhealthy in Prometheus: {'; '.join(bad)}")
    else:
        ok(f"Prometheus loaded and evaluated {len(rules)} alert rules, all healthy")
    # load.py presents spent refresh tokens on purpose: TokendRefreshReuseSpike may rightly fire.
    expected = {"TokendRefreshReuseSpike"} if phases else set()

    def alerts():
        return json.loads(http_get(f"{prom}/api/v1/alerts"))["data"]["alerts"]
    # An alert pending from before the first scrapes (TokendDown) clears at the next evaluation.
    deadline = time.time() + 10
    active = alerts()
    while time.time() < deadline and any(a["labels"]["alertname"] not in expected for a in active):
        time.sleep(1)
        active = alerts()
    unexpected = [a for a in active if a["labels"]["alertname"] not in expected]
    if unexpected:
        fail("alerts active against a healthy tokend: " +
             ", ".join(f"{a['labels']['alertname']} ({a['state']})" for a in unexpected))
    else:
        ok("no alert pending or firing against a healthy tokend" +
           "".join(f"; {a['labels']['alertname']} {a['state']} (the load reuses refresh tokens on purpose)"
                   for a in active))

    # Dashboard queries: valid PromQL, and the main panels have data.
    with open(DASHBOARD) as f:
        dash = json.load(f)
    queries = empty = 0
    for p in dash["panels"]:
        series = 0
        for t in p.get("targets", []):
            expr = t["expr"].replace("$__rate_interval", "30s")
            expr = re.sub(r'=~"\$(namespace|instance)"', '=~".*"', expr)
            queries += 1
            try:
                series += len(prom_query(prom, expr))
            except Exception as e:
                fail(f"dashboard panel {p['title']!r}: {e}")
        if not series and p["title"] in MUST_HAVE_DATA:
            empty += 1
            fail(f"dashboard panel {p['title']!r} has no data")
    if not empty:
        ok(f"all {queries} dashboard queries valid; the main panels have data")

    if args.render:
        minutes = max(1.0, (time.time() - load_started) / 60 + 0.2)
        out = subprocess.run([sys.executable, os.path.join(ROOT, "deploy/grafana/render_dashboard.py"),
                              f"--prometheus={prom}", f"--out={args.render}", f"--minutes={minutes:.2f}",
                              "--rate-interval=30s"], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            fail(f"render_dashboard.py: {out.stdout}{out.stderr}")
        else:
            ok(f"dashboard rendered to {args.render}")


if __name__ == "__main__":
    sys.exit(main())
