#!/usr/bin/python3
"""Checks that a rendered Helm release runs the tokend binary it ships with.

For every container of the rendered manifests that runs tokend (the image's entrypoint, no
`command`), it collects the arguments, follows --flagfile into the rendered ConfigMap, and checks:

  names    every flag is defined in services/tokend/server/flags.cc (read from `tokend --helpfull`), and
           every TOKEND_* variable maps to one; flags that later issues will add are reported as
           PENDING and fail unless --allow-pending is given (the default render must pass without);
  values   the real binary parses them all: `tokend ARGS --help=<nothing>` exits through Abseil's
           usage path after parsing, printing "ERROR: ..." for any unknown flag or bad value;
  wiring   file flags point into a mounted volume, listen ports match the containerPorts, and
           the gRPC readiness probe targets the gRPC port;
  run      (--run) the server starts with the rendered flag file: ConfigMap and chart-generated
           Secrets laid out under a temporary root, paths rewritten there, ports set to
           127.0.0.1:0 and the store to memory (no PostgreSQL here). It must write its ready
           file, answer /readyz and serve a JWKS made from the chart's signing key; then it gets
           SIGTERM and must exit 0 within the drain timeout.

usage: check_flags.py --tokend BIN [--allow-pending] [--run] MANIFEST.yaml
"""

import argparse
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

# Flags and subcommands planned by later issues, reported as PENDING until tokend has them.
# Empty: everything the chart renders is in this tokend (managed keys, caller policy, pruning in the server).
PENDING = {}
PENDING_COMMANDS = {}
COMMANDS = {"migrate", "keys"}
# Environment variables tokend reads that are not TOKEND_<FLAG>.
EXTRA_ENV = {"TOKEND_REFRESH_SECRET": None, "TOKEND_KEK": None}
# Flags whose value is a file (or comma-separated files) that must be mounted.
FILE_FLAGS = {"signing_key", "refresh_secret_file", "tls_cert", "tls_key", "tls_client_ca",
              "policy_file", "kek_file", "previous_kek_file", "audit_log"}
# Values of file flags that name no file ("-": stderr).
NOT_A_FILE = {"-", ""}

problems = []
notes = []


def fail(message):
    problems.append(message)
    print(f"FAIL {message}")


def main_cc_flags(tokend):
    """The flags defined in services/tokend/server/flags.cc, from the binary's --helpfull."""
    out = subprocess.run([tokend, "--helpfull"], capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    flags, all_flags, section = set(), set(), None
    for line in text.splitlines():
        m = re.match(r"^  Flags from (.*):$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^    --([a-z0-9_]+) ", line)
        if m:
            all_flags.add(m.group(1))
            if section and section.endswith("services/tokend/server/flags.cc"):
                flags.add(m.group(1))
    if not flags:
        sys.exit(f"check_flags: found no flags of services/tokend/server/flags.cc in `{tokend} --helpfull`")
    return flags, all_flags


def parse_flag(arg):
    """'--name=value' -> (name, value); '--name' -> (name, None); else None."""
    m = re.match(r"^--?([A-Za-z0-9_]+)(?:=(.*))?$", arg, re.S)
    return (m.group(1), m.group(2)) if m else None


def containers_of(doc):
    """(pod spec, container) of every container in a workload."""
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        pod = spec
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        pod = (spec.get("template") or {}).get("spec") or {}
    elif kind == "CronJob":
        pod = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    else:
        return []
    return [(pod, c) for c in pod.get("initContainers", []) + pod.get("containers", [])]


def mount_source(pod, container, path):
    """The (volume, mountPath) under which `path` is mounted, or (None, None)."""
    best = (None, None)
    for m in container.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if (path == mp or path.startswith(mp + "/")) and (best[1] is None or len(mp) > len(best[1])):
            vol = next((v for v in pod.get("volumes", []) if v["name"] == m["name"]), None)
            best = (vol, mp)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokend", required=True)
    ap.add_argument("--allow-pending", action="store_true")
    ap.add_argument("--run", action="store_true")
    ap.add_argument("manifest")
    args = ap.parse_args()
    args.tokend = os.path.abspath(args.tokend)

    known, all_flags = main_cc_flags(args.tokend)
    with open(args.manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d.get("kind") == "ConfigMap"}
    secrets = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Secret"}

    checked = 0
    for doc in docs:
        for pod, c in containers_of(doc):
            if c.get("command"):
                continue  # not the tokend entrypoint (e.g. the helm test's bash)
            where = f"{doc['kind']}/{doc['metadata']['name']}/{c['name']}"
            checked += 1
            check_container(args, known, all_flags, configmaps, secrets, pod, c, where)
    if checked == 0:
        fail("no container runs the tokend entrypoint")
    for n in notes:
        print(n)
    print(f"{checked} tokend container(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def check_container(args, known, all_flags, configmaps, secrets, pod, c, where):
    argv = list(c.get("args", []))
    flags = []          # (name, value, origin)
    positional = []
    flagfiles = {}      # path in the pod -> content
    for a in argv:
        parsed = parse_flag(a)
        if not parsed:
            positional.append(a)
            continue
        name, value = parsed
        if name == "flagfile":
            vol, mp = mount_source(pod, c, value)
            if not vol or "configMap" not in vol:
                fail(f"{where}: --flagfile={value} is not in a mounted ConfigMap")
                continue
            key = value[len(mp) + 1:]
            content = configmaps.get(vol["configMap"]["name"], {}).get(key)
            if content is None:
                fail(f"{where}: --flagfile={value}: ConfigMap {vol['configMap']['name']} has no key {key}")
                continue
            flagfiles[value] = content
            for line in content.splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                p = parse_flag(line)
                if not p:
                    fail(f"{where}: flag file line is not a flag: {line!r}")
                    continue
                flags.append((p[0], p[1], "flagfile"))
        else:
            flags.append((name, value, "args"))

    # --- names ---
    pending = []
    for cmd in positional:
        if cmd in PENDING_COMMANDS:
            pending.append(f"subcommand {cmd} ({PENDING_COMMANDS[cmd]})")
        elif cmd not in COMMANDS:
            fail(f"{where}: unknown subcommand {cmd!r}")
    for name, _, origin in flags:
        base = name[2:] if name.startswith("no") and name[2:] in known else name
        if base in known:
            continue
        if name in PENDING and name not in known:
            pending.append(f"--{name} ({PENDING[name]})")
        elif name in all_flags:
            fail(f"{where}: --{name} ({origin}) is an Abseil flag, not a tokend setting")
        else:
            fail(f"{where}: --{name} ({origin}) is not a flag of tokend")
    for env in c.get("env", []):
        n = env["name"]
        if not n.startswith("TOKEND_"):
            continue
        flag = n[len("TOKEND_"):].lower()
        if flag in known or (n in EXTRA_ENV and EXTRA_ENV[n] is None):
            continue
        if n in EXTRA_ENV or flag in PENDING:
            pending.append(f"env {n} ({EXTRA_ENV.get(n) or PENDING.get(flag)})")
        else:
            fail(f"{where}: env {n} matches no tokend flag (tokend would ignore it)")
    if pending:
        msg = f"{where}: not in this tokend yet: {', '.join(sorted(set(pending)))}"
        if args.allow_pending:
            notes.append(f"PENDING {msg}")
        else:
            fail(msg)

    # --- values, parsed by the binary (pending flags left out: it cannot know them yet) ---
    with tempfile.TemporaryDirectory() as tmp:
        real_args = []
        for cmd in positional:
            if cmd not in PENDING_COMMANDS:
                real_args.append(cmd)
        for i, (path, content) in enumerate(flagfiles.items()):
            kept = [l for l in content.splitlines()
                    if not (parse_flag(l.strip()) and parse_flag(l.strip())[0] in PENDING
                            and parse_flag(l.strip())[0] not in known)]
            local = os.path.join(tmp, f"flags{i}")
            with open(local, "w") as f:
                f.write("\n".join(kept) + "\n")
            real_args.append(f"--flagfile={local}")
        for name, value, origin in flags:
            if origin == "args" and not (name in PENDING and name not in known):
                real_args.append(f"--{name}" + ("" if value is None else f"={value}"))
        out = subprocess.run([args.tokend, *real_args, "--help=__no_flag_matches_this__"],
                             capture_output=True, text=True, timeout=30)
        errors = [l for l in out.stderr.splitlines() if l.startswith("ERROR")]
        for e in errors:
            fail(f"{where}: tokend rejects the rendered flags: {e}")

    # --- wiring ---
    values = {n: v for n, v, _ in flags}
    for name in FILE_FLAGS & values.keys():
        for path in (values[name] or "").split(","):
            if path in NOT_A_FILE:
                continue
            vol, _ = mount_source(pod, c, path)
            if vol is None:
                fail(f"{where}: --{name}={path} is not under any volumeMount")
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    for flag, port_name in (("grpc_listen", "grpc"), ("http_listen", "http")):
        if flag in values and port_name in ports:
            if not values[flag].endswith(f":{ports[port_name]}"):
                fail(f"{where}: --{flag}={values[flag]} but containerPort {port_name} is {ports[port_name]}")
        elif not positional and flag not in values:
            fail(f"{where}: the server does not set --{flag} (its default listens on loopback only)")
    probe = (c.get("readinessProbe") or {}).get("grpc")
    if probe and ports.get("grpc") != probe.get("port"):
        fail(f"{where}: the gRPC readiness probe targets port {probe.get('port')}, not the gRPC port")
    if not positional and "insecure" not in values and "tls_cert" not in values:
        fail(f"{where}: neither TLS nor --insecure: tokend refuses to start")

    if args.run and not positional:
        run_server(args, pod, c, where, flagfiles, secrets, configmaps, known)


def run_server(args, pod, c, where, flagfiles, secrets, configmaps, known):
    """Starts tokend with the rendered flag file and mounted files, on loopback, memory store."""
    with tempfile.TemporaryDirectory() as root:
        # Lay out every mounted ConfigMap and Secret that the release renders itself.
        for m in c.get("volumeMounts", []):
            vol = next((v for v in pod.get("volumes", []) if v["name"] == m["name"]), None)
            target = root + m["mountPath"]
            os.makedirs(target, exist_ok=True)
            if vol and "configMap" in vol:
                for key, value in configmaps.get(vol["configMap"]["name"], {}).items():
                    with open(os.path.join(target, key), "w") as f:
                        f.write(value)
            elif vol and "secret" in vol:
                secret = secrets.get(vol["secret"]["secretName"])
                if secret is None:
                    notes.append(f"SKIP run of {where}: Secret {vol['secret']['secretName']} is not rendered by the chart")
                    return
                for key, value in (secret.get("data") or {}).items():
                    with open(os.path.join(target, key), "wb") as f:
                        f.write(base64.b64decode(value))
                for key, value in (secret.get("stringData") or {}).items():
                    with open(os.path.join(target, key), "w") as f:
                        f.write(value)
        ready_file = os.path.join(root, "ready.json")
        lines = []
        for content in flagfiles.values():
            for line in content.splitlines():
                p = parse_flag(line.strip())
                if not p:
                    continue
                name, value = p
                if name in PENDING and name not in known:
                    notes.append(f"SKIP run of {where}: needs --{name}")
                    return
                if name in ("grpc_listen", "http_listen"):
                    value = "127.0.0.1:0"
                elif name == "store":
                    value = "memory"  # no PostgreSQL in this check; the DSN was parsed above
                elif name in FILE_FLAGS:
                    value = ",".join(v if v in NOT_A_FILE else root + v for v in value.split(","))
                lines.append(f"--{name}" + ("" if value is None else f"={value}"))
        flagfile = os.path.join(root, "run.flags")
        with open(flagfile, "w") as f:
            f.write("\n".join(lines) + f"\n--ready_file={ready_file}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEND_")}
        log_path = os.path.join(root, "tokend.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([args.tokend, f"--flagfile={flagfile}"], stdout=log,
                                    stderr=subprocess.STDOUT, env=env, cwd=root)
        try:
            deadline = time.time() + 20
            while not os.path.exists(ready_file):
                if proc.poll() is not None or time.time() > deadline:
                    with open(log_path) as f:
                        tail = f.read()[-2000:]
                    fail(f"{where}: tokend did not start with the rendered flags:\n{tail}")
                    return
                time.sleep(0.1)
            with open(ready_file) as f:
                http_port = json.load(f)["http_port"]
            base = f"http://127.0.0.1:{http_port}"
            body = ""
            for _ in range(50):  # readiness is evaluated once a second
                try:
                    with urllib.request.urlopen(base + "/readyz", timeout=5) as r:
                        body = r.read().decode()
                        break
                except OSError as e:
                    body = str(e)
                    time.sleep(0.2)
            if body.strip() != "ready":
                fail(f"{where}: /readyz with the rendered flags: {body}")
            with urllib.request.urlopen(base + "/.well-known/jwks.json", timeout=5) as r:
                jwks = json.load(r)
            keys = jwks.get("keys", [])
            if not keys or any("d" in k for k in keys):
                fail(f"{where}: JWKS with the chart's key is wrong: {len(keys)} key(s)")
            else:
                algs = ",".join(sorted({k.get('alg', k.get('kty')) for k in keys}))
                print(f"ok   {where}: started with the rendered flag file; /readyz ready; JWKS serves {len(keys)} key(s) ({algs})")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=30)
                if rc != 0 and not problems:
                    fail(f"{where}: tokend exited {rc} on SIGTERM")
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                fail(f"{where}: tokend did not stop within 30s of SIGTERM")


if __name__ == "__main__":
    sys.exit(main())
