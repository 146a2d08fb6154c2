"""`make run`: the whole suite on this machine — Kafka, the five services and the gateway.

Kafka runs from the cached Apache jars on 127.0.0.1:9092, each service keeps a SQLite file in
`.run/local/`, and the gateway answers on http://127.0.0.1:8080. Ctrl-C (or `make down` from
another terminal) stops everything.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time

import httpx

from scripts.infra import RUN, KafkaBroker, log, wait_for_port

LOCAL = RUN / "local"
PID_FILE = LOCAL / "run.pid"
SERVICES = {  # name: port; the gateway last, once its upstreams answer
    "ingest": 8081,
    "routing": 8082,
    "guidelines": 8083,
    "kpi": 8084,
    "webhooks": 8085,
    "gateway": 8080,
}


def admin_key() -> str:
    """Reuse the key of earlier runs (the SQLite files keep it), else mint one."""
    configured = os.environ.get("SOCIALCARE_ADMIN_KEY")
    if configured:
        return configured
    path = LOCAL / "admin-key"
    if path.exists():
        return path.read_text().strip()
    key = "sc_" + secrets.token_urlsafe(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def service_env(kafka: str, key: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("SOCIALCARE_ENVIRONMENT", "local")
    env.setdefault("SOCIALCARE_LOG_JSON", "false")
    env["SOCIALCARE_KAFKA_BOOTSTRAP"] = kafka
    env.setdefault("SOCIALCARE_DATABASE_URL", f"sqlite+aiosqlite:///{LOCAL}/{{service}}.db")
    env.setdefault("SOCIALCARE_INTERNAL_SECRET", "local-" + secrets.token_hex(16))
    env["SOCIALCARE_ADMIN_KEY"] = key
    for name, port in SERVICES.items():
        if name != "gateway":
            env[f"SOCIALCARE_GATEWAY_{name.upper()}_URL"] = f"http://127.0.0.1:{port}"
    return env


def wait_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not become healthy")


def up() -> int:
    LOCAL.mkdir(parents=True, exist_ok=True)
    PID_FILE.write_text(str(os.getpid()))
    broker = KafkaBroker(LOCAL / "kafka", 9092, 9093)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        broker.start()
        key = admin_key()
        env = service_env(broker.bootstrap, key)
        subprocess.run(
            [sys.executable, "-m", "shared.migrations", "upgrade", "--all"], env=env, check=True
        )
        for name, port in SERVICES.items():
            if name == "gateway":
                for other, other_port in SERVICES.items():
                    if other != "gateway":
                        wait_healthy(f"http://127.0.0.1:{other_port}")
            processes[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"services.{name}.main:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                env={**env, "SOCIALCARE_SERVICE_PORT": str(port)},
            )
            wait_for_port(port, 60, processes[name])
        wait_healthy("http://127.0.0.1:8080")
        print(
            "\nsocialcare is running\n"
            "  gateway     http://127.0.0.1:8080   (OpenAPI: /openapi.json, docs: /docs)\n"
            + "".join(
                f"  {name:<11} http://127.0.0.1:{port}\n"
                for name, port in SERVICES.items()
                if name != "gateway"
            )
            + f"  kafka       {broker.bootstrap}\n"
            f"  admin key   {key}\n"
            "  try:        curl -H 'Authorization: Bearer <admin key>' "
            "http://127.0.0.1:8080/v1/api-keys\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    log(f"{name} exited with {process.returncode}; stopping the suite")
                    stopping = True
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in reversed(list(processes.values())):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.stop()
        PID_FILE.unlink(missing_ok=True)
        log("socialcare stopped")
    return 0


def down() -> int:
    if not PID_FILE.exists():
        log("nothing is running")
        return 0
    pid = int(PID_FILE.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    for _ in range(120):
        if not PID_FILE.exists():
            break
        time.sleep(0.5)
    log("stopped")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args()
    return up() if args.command == "up" else down()


if __name__ == "__main__":
    sys.exit(main())
