#!/usr/bin/python3
"""Static checks of deploy/Dockerfile and deploy/compose.yaml against the real tokend.

  Dockerfile  every RUN calls deploy/build_image_steps.sh (deps, build, stage, runtime) and
              nothing else, so the image is built exactly as CI builds and stages it; Debian 12
              bases; a numeric non-root USER; ENTRYPOINT tokend; TOKEND_* ENV names are flags.
  packages    every package the builder stage installs is in the run set of scripts/setup.sh too.
  compose     every tokend service's command is accepted by the binary (flag names and values,
              `tokend ARGS --help=<nothing>` prints no ERROR), its TOKEND_* variables are flags,
              its published ports are on loopback, and the files it mounts exist.

usage: check_image_files.py --tokend BIN
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
problems = []


def fail(message):
    problems.append(message)
    print(f"FAIL {message}")


def ok(message):
    print(f"ok   {message}")


def tokend_flags(tokend):
    out = subprocess.run([tokend, "--helpfull"], capture_output=True, text=True, timeout=30)
    flags, section = set(), ""
    for line in (out.stdout + out.stderr).splitlines():
        m = re.match(r"^  Flags from (.*):$", line)
        if m:
            section = m.group(1)
        m = re.match(r"^    --([a-z0-9_]+) ", line)
        if m and section.endswith("services/tokend/server/flags.cc"):
            flags.add(m.group(1))
    return flags


def env_ok(name, flags):
    return not name.startswith("TOKEND_") or name[7:].lower() in flags or name == "TOKEND_REFRESH_SECRET"


def check_dockerfile(flags):
    path = os.path.join(ROOT, "deploy/Dockerfile")
    text = open(path).read()
    logical = re.sub(r"\\\n", " ", text)
    instructions = [l.strip() for l in logical.splitlines() if l.strip() and not l.strip().startswith("#")]
    runs = [i[4:].strip() for i in instructions if i.upper().startswith("RUN ")]
    allowed = re.compile(r"^(\S*/)?build_image_steps\.sh (deps|build|stage|runtime)\b|^rm -rf /tmp/image$")
    for run in runs:
        for part in [p.strip() for p in run.split("&&")]:
            if not allowed.match(part):
                fail(f"Dockerfile RUN does something build_image_steps.sh does not: {part!r}")
    used = {m.group(1) for r in runs for m in re.finditer(r"build_image_steps\.sh (\w+)", r)}
    if used != {"deps", "build", "stage", "runtime"}:
        fail(f"Dockerfile should run deps, build, stage and runtime; runs {sorted(used)}")
    froms = [i.split()[1] for i in instructions if i.upper().startswith("FROM ")]
    if not froms or not all(re.match(r"^debian:12(-slim)?(@sha256:[0-9a-f]{64})?$", f) for f in froms):
        fail(f"Dockerfile bases must be Debian 12: {froms}")
    users = [i.split()[1] for i in instructions if i.upper().startswith("USER ")]
    if not users or not re.match(r"^[1-9][0-9]*(:[1-9][0-9]*)?$", users[-1]):
        fail(f"Dockerfile must end as a numeric non-root USER: {users}")
    entry = [i for i in instructions if i.upper().startswith("ENTRYPOINT ")]
    if entry != ['ENTRYPOINT ["/usr/local/bin/tokend"]']:
        fail(f"Dockerfile ENTRYPOINT must be [\"/usr/local/bin/tokend\"]: {entry}")
    for name in re.findall(r"\b(TOKEND_[A-Z0-9_]+)=", logical):
        if not env_ok(name, flags):
            fail(f"Dockerfile ENV {name} is not a tokend flag")
    if not problems:
        ok(f"Dockerfile: {len(runs)} RUN steps, all through build_image_steps.sh; {froms}; USER {users[-1]}")


def check_packages():
    steps = subprocess.run(["bash", os.path.join(ROOT, "deploy/build_image_steps.sh"), "packages"],
                           capture_output=True, text=True, check=True).stdout.split()
    setup = open(os.path.join(ROOT, "scripts/setup.sh")).read()
    m = re.search(r"RUN_PACKAGES=\((.*?)\)", setup, re.S)
    listed = set(re.sub(r"#.*", "", m.group(1)).split()) if m else set()
    missing = [p for p in steps if p not in listed]
    if missing:
        fail(f"build_image_steps.sh installs packages that scripts/setup.sh does not: {missing}")
    else:
        ok(f"the image's {len(steps)} build packages are all in scripts/setup.sh")


def check_compose(tokend, flags):
    path = os.path.join(ROOT, "deploy/compose.yaml")
    compose = yaml.safe_load(open(path))
    services = compose.get("services", {})
    checked = 0
    for name, svc in services.items():
        for port in svc.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                fail(f"compose {name}: port {port} is not published on loopback only")
        for vol in svc.get("volumes", []):
            src = str(vol).split(":")[0]
            if src.startswith("."):
                if not os.path.exists(os.path.join(ROOT, "deploy", src)):
                    fail(f"compose {name}: mounts missing {src}")
        if svc.get("image") != "tokend:dev":
            continue
        checked += 1
        command = svc.get("command", [])
        if isinstance(command, str):
            command = shlex.split(command)
        env = svc.get("environment", {})
        names = env.keys() if isinstance(env, dict) else [e.split("=")[0] for e in env]
        for n in names:
            if not env_ok(n, flags):
                fail(f"compose {name}: environment {n} is not a tokend flag")
        for arg in command:
            m = re.match(r"^--([a-z0-9_]+)", arg)
            if m and m.group(1) not in flags:
                fail(f"compose {name}: --{m.group(1)} is not a flag of tokend")
            elif not m and arg not in ("migrate",):
                fail(f"compose {name}: unknown subcommand {arg!r}")
        out = subprocess.run([tokend, *command, "--help=__no_flag_matches_this__"], capture_output=True,
                             text=True, timeout=30)
        for line in out.stderr.splitlines():
            if line.startswith("ERROR"):
                fail(f"compose {name}: tokend rejects its command: {line}")
    if checked < 2:
        fail(f"compose: expected the migrate and tokend services on image tokend:dev, found {checked}")
    elif not problems:
        ok(f"compose.yaml: {len(services)} services; {checked} tokend commands accepted by the binary")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokend", required=True)
    args = ap.parse_args()
    flags = tokend_flags(args.tokend)
    if not flags:
        sys.exit("check_image_files: no flags of services/tokend/server/flags.cc in --helpfull")
    check_dockerfile(flags)
    check_packages()
    check_compose(args.tokend, flags)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
