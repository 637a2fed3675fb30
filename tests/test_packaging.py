"""What ships for deploying (docs/deploy.md): nothing here can pull an image or run a Docker
engine, so the Dockerfile's build step runs as the plain command it is (deploy/install.sh, into
a fresh virtualenv) and the image's entry point and health check are run from it; compose.yaml,
the Procfile, the Caddyfile and the nginx example are read and checked against what exists:
the commands the app has, the settings it reads, the files they mount, the proxies' own
validators where Debian's caddy and nginx are installed."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from server.cli import build_parser
from server.config import VARIABLES
from tests.conftest import STORE
from tests.helpers import free_port, wait_until_serving

REPO = Path(__file__).resolve().parent.parent
INSTALL_SECS = 600.0  # a hang guard: a fresh virtualenv and every dependency (pip's cache helps)
COMMAND_SECS = 60.0
ONCE = pytest.mark.skipif(
    STORE != "sqlite", reason="the store plays no part: run once per make test"
)


def commands() -> set[str]:
    """The `switchboard` subcommands."""
    parser = build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined: (INSTRUCTION, arguments)."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines)
        if word and not word.startswith("#")
    ]


def instruction(name: str) -> list[str]:
    return [args for word, args in dockerfile() if word == name]


def exec_form(args: str) -> list[str]:
    """A JSON-array instruction's words, or a shell-form one's (`CMD python -c "..."`)."""
    words = json.loads(args) if args.startswith("[") else shlex.split(args)
    assert isinstance(words, list)
    return [str(w) for w in words]


def test_the_dockerfile_is_a_slim_image_run_as_a_user_with_a_health_check() -> None:
    (base,) = instruction("FROM")
    assert re.fullmatch(r"python:3\.1\d-slim", base)
    (user,) = instruction("USER")
    assert user not in ("root", "0")
    assert exec_form(instruction("ENTRYPOINT")[0]) == ["switchboard"]
    cmd = exec_form(instruction("CMD")[0])
    assert cmd[0] == "serve" and cmd[0] in commands()
    (health,) = instruction("HEALTHCHECK")
    assert "/healthz" in health
    for copy in instruction("COPY"):
        source = copy.split()[0]
        assert (REPO / source).exists(), source
    (run_install,) = [r for r in instruction("RUN") if "deploy/install.sh" in r]
    assert (REPO / "deploy" / "install.sh").exists()
    assert "/opt/switchboard" in run_install


@ONCE
def test_the_images_build_step_installs_a_switchboard_that_serves_and_answers_its_health_check(
    tmp_path: Path,
) -> None:
    venv = tmp_path / "opt-switchboard"
    built = subprocess.run(
        ["sh", str(REPO / "deploy" / "install.sh"), str(venv), str(REPO)],
        capture_output=True,
        text=True,
        timeout=INSTALL_SECS,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
    )
    assert built.returncode == 0, built.stdout + built.stderr
    import_check = [str(venv / "bin" / "python"), "-c", "import asyncpg, server.app"]
    assert subprocess.run(import_check, cwd=tmp_path, timeout=COMMAND_SECS).returncode == 0
    # The image's environment: its ENV lines, with this machine's paths and a free port.
    port = free_port()
    env = {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    env |= {"SWITCHBOARD_DATA_DIR": str(tmp_path / "data"), "PORT": str(port)}
    health = exec_form(instruction("HEALTHCHECK")[0].split(" CMD ", 1)[1])
    assert subprocess.run(health, env=env, cwd=tmp_path, timeout=COMMAND_SECS).returncode != 0
    entry = exec_form(instruction("ENTRYPOINT")[0]) + exec_form(instruction("CMD")[0])
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        entry, env=env, cwd=tmp_path, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, proc, log)
        assert subprocess.run(health, env=env, cwd=tmp_path, timeout=COMMAND_SECS).returncode == 0
        # The pages and their scripts came along (web/ is no Python package of its own).
        assert "password" in httpx.get(url + "/login").text
        assert httpx.get(url + "/static/js/inbox.js").status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)


def compose() -> dict[str, dict[str, object]]:
    loaded = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    services = loaded["services"]
    assert isinstance(services, dict)
    return services


def test_compose_runs_postgres_redis_a_migration_two_replicas_and_caddy() -> None:
    services = compose()
    assert set(services) == {"postgres", "redis", "migrate", "app", "caddy"}
    ours = {name: s for name, s in services.items() if s.get("image") == "switchboard:latest"}
    assert set(ours) == {"migrate", "app"}
    for name, service in ours.items():
        command = service["command"]
        assert isinstance(command, list) and command[0] in commands(), name
        env = service["environment"]
        assert isinstance(env, dict)
        assert set(env) <= VARIABLES, set(env) - VARIABLES  # only settings the app reads
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"  # one-shot
    app = services["app"]
    assert app["deploy"] == {"replicas": 2}
    assert app["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}  # type: ignore[index]
    redis_command = services["redis"]["command"]
    assert isinstance(redis_command, list) and "--appendonly" in redis_command
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    mounted = [str(v).split(":")[0] for s in services.values() for v in s.get("volumes", [])]  # type: ignore[attr-defined]
    for host_path in (m for m in mounted if m.startswith(".")):
        assert (REPO / host_path).exists(), host_path
    assert "./deploy/Caddyfile" in mounted
    # Every variable compose.yaml asks of .env is in the example .env.
    asked = set(re.findall(r"\$\{(\w+)", (REPO / "compose.yaml").read_text()))
    example = (REPO / "deploy" / "compose.env.example").read_text()
    offered = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    assert asked == offered


def test_the_procfile_migrates_in_its_release_phase_and_serves_on_the_platforms_port() -> None:
    lines = dict(
        line.split(": ", 1) for line in (REPO / "Procfile").read_text().splitlines() if line
    )
    assert lines["release"] == "switchboard migrate"
    web = shlex.split(lines["web"])
    assert web[:2] == ["switchboard", "serve"] and "$PORT" in web
    assert {"migrate", "serve"} <= commands()


@pytest.mark.skipif(shutil.which("caddy") is None, reason="Debian's caddy is not installed")
def test_the_caddyfile_is_valid() -> None:
    result = subprocess.run(
        ["caddy", "validate", "--adapter", "caddyfile", "--config", "deploy/Caddyfile"],
        cwd=REPO,
        env=os.environ | {"SWITCHBOARD_DOMAIN": "sms.example.org"},
        capture_output=True,
        text=True,
        timeout=COMMAND_SECS,
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


@pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None,
    reason="Debian's nginx (or openssl) is not installed",
)
def test_the_nginx_example_is_valid(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=sms.example.org", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=COMMAND_SECS,
    )
    site = (REPO / "deploy" / "nginx.conf").read_text()
    site = site.replace("/etc/ssl/certs/sms.example.org.pem", str(cert))
    site = site.replace("/etc/ssl/private/sms.example.org.key", str(key))
    (tmp_path / "site.conf").write_text(site)
    main = f"pid {tmp_path}/nginx.pid; error_log stderr; events {{}}\n"
    main += f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    (tmp_path / "nginx.conf").write_text(main)
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=COMMAND_SECS,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
