"""The container image: build it with podman, then run every service's container for real.

    python -m scripts.image build    # make image: the image socialcare:<version>
    python -m scripts.image test     # make test-image: each service's container against a real
                                     # Kafka broker and PostgreSQL on this host

Where no image registry is reachable (this project's CI), the base is a Debian bookworm root
filesystem made with mmdebstrap from Debian's packages and imported with `podman import`. It is
cached twice (in podman's storage and as a tarball under .cache/image) and made again only when
its recipe below changes. `BASE_IMAGE=python:3.11-slim make image` builds on a registry's image
instead. Podman runs with deploy/podman/containers.conf (through CONTAINERS_CONF): runc and
ulimits within what the CI hosts allow.

`test` starts what the manifests say: it renders deploy/k8s/overlays/production, runs the
migration Job's command from the image, starts every socialcare Deployment's command and
environment (ConfigMap plus Secret references, filled with throwaway values), with only the
addresses changed to this host's broker, cluster and free ports (host networking, services bound
to 127.0.0.1). A service added to the manifests is started and probed with no change here.

Written by hand (not a library): it is glue between podman, kustomize and the suite's own
infrastructure script, and each step is a couple of subprocess calls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from scripts.infra import CACHE, ROOT, apt_install, create_database, free_port, running_infra

CONTAINERS_CONF = ROOT / "deploy" / "podman" / "containers.conf"
CONTAINERFILE = ROOT / "Containerfile"
PRODUCTION_OVERLAY = ROOT / "deploy" / "k8s" / "overlays" / "production"
KUBECTL = Path(sys.executable).parent / "kubectl"
BUILD_CA_BUNDLE = Path(
    os.environ.get("SOCIALCARE_BUILD_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
)
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
IMAGE = os.environ.get("SOCIALCARE_IMAGE", f"localhost/socialcare:{PROJECT['version']}")

# The recipe of the Debian base. Documentation, manuals and translations are left out; python3
# is 3.11 like the default base, python3-venv lets the build stage install uv, libstdc++6 is what
# greenlet's wheel links against (python:3.11-slim has it too).
BASE_SUITE = "bookworm"
BASE_RECIPE = [
    "--variant=essential",
    "--include=python3,python3-venv,libstdc++6",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-include=/usr/share/locale/locale.alias",
    "--format=tar",
]
BASE_KEY = hashlib.sha256(json.dumps([BASE_SUITE, BASE_RECIPE]).encode()).hexdigest()[:12]
BASE_TAG = f"localhost/socialcare-base:{BASE_SUITE}-{BASE_KEY}"
BASE_TARBALL = CACHE / "image" / f"{BASE_SUITE}-{BASE_KEY}.tar"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

STARTUP_SECONDS = 240.0  # six services loading at once on a busy two-core machine
HEALTH_PATHS = ("/healthz", "/readyz")


def log(message: str) -> None:
    print(f"[image] {message}", file=sys.stderr, flush=True)


def podman(
    *args: str, capture: bool = False, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args],
        env={**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)},
        capture_output=capture,
        text=True,
        check=check,
    )


def image_exists(name: str) -> bool:
    return podman("image", "exists", name, check=False).returncode == 0


# --------------------------------------------------------------------------------------- build


def ensure_tools(*commands: str) -> None:
    """Install podman, runc and mmdebstrap from Debian's packages when absent (runc named on its
    own: apt would otherwise choose crun, which refuses hybrid cgroups)."""
    missing = [command for command in commands if shutil.which(command) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"missing {', '.join(missing)}: apt-get install {' '.join(missing)}")
    apt_install(*missing)


def ensure_base() -> str:
    """The Debian base image, from podman's storage, else the cached tarball, else mmdebstrap."""
    if image_exists(BASE_TAG):
        return BASE_TAG
    if not BASE_TARBALL.exists():
        ensure_tools("mmdebstrap")
        log(f"making the {BASE_SUITE} root filesystem with mmdebstrap (first run only)")
        BASE_TARBALL.parent.mkdir(parents=True, exist_ok=True)
        partial = BASE_TARBALL.with_suffix(".partial")
        started = time.monotonic()
        # No mirror given: mmdebstrap uses Debian's own, with the updates and security suites.
        subprocess.run(
            ["mmdebstrap", "--quiet", *BASE_RECIPE, BASE_SUITE, str(partial)], check=True
        )
        partial.rename(BASE_TARBALL)
        log(f"root filesystem made in {time.monotonic() - started:.0f} s")
    changes = [f"ENV PATH={PATH}", "ENV LANG=C.UTF-8", 'CMD ["/bin/sh"]']
    podman(
        "import",
        *(f"--change={change}" for change in changes),
        f"--message=Debian {BASE_SUITE}: mmdebstrap {' '.join(BASE_RECIPE)}",
        str(BASE_TARBALL),
        BASE_TAG,
    )
    return BASE_TAG


def git_revision() -> str:
    result = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def build(base_image: str | None) -> None:
    # On a fresh machine (no podman yet, so no stored base) everything comes in one apt run.
    fresh = base_image is None and shutil.which("podman") is None and not BASE_TARBALL.exists()
    ensure_tools("podman", "runc", *(["mmdebstrap"] if fresh else []))
    base = base_image or ensure_base()
    build_args = {"BASE_IMAGE": base, "VERSION": PROJECT["version"], "REVISION": git_revision()}
    arguments = ["build", "--layers", f"--file={CONTAINERFILE}", f"--tag={IMAGE}"]
    arguments += [f"--build-arg={name}={value}" for name, value in build_args.items()]
    if BUILD_CA_BUNDLE.is_file():
        # Mounted only into the steps that download, never stored in a layer.
        arguments += ["--secret", f"id=ca-certificates,src={BUILD_CA_BUNDLE}"]
    started = time.monotonic()
    podman(*arguments, str(ROOT))
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE, capture=True).stdout)
    log(f"{IMAGE} built on {base} in {time.monotonic() - started:.0f} s: {size / 1e6:.0f} MB")


# ---------------------------------------------------------------------------------------- test


@dataclass
class Workload:
    """One container of the manifests: what it runs and the environment it gets."""

    name: str
    kind: str
    argv: list[str]
    config: dict[str, str]
    secret_keys: dict[str, str]  # variable -> key of the Secret
    probes: list[str] = field(default_factory=list)


def render_production() -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(PRODUCTION_OVERLAY)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def workloads(docs: list[dict[str, Any]]) -> list[Workload]:
    config_maps = {
        doc["metadata"]["name"]: doc.get("data", {}) for doc in docs if doc["kind"] == "ConfigMap"
    }
    found = []
    for doc in docs:
        if doc["kind"] not in {"Deployment", "Job"}:
            continue
        if doc["metadata"]["labels"].get("app.kubernetes.io/part-of") != "socialcare":
            continue
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        config: dict[str, str] = {}
        for source in container.get("envFrom", []):
            config.update(config_maps[source["configMapRef"]["name"]])
        secret_keys = {}
        for item in container.get("env", []):
            if "value" in item:
                config[item["name"]] = item["value"]
            else:
                secret_keys[item["name"]] = item["valueFrom"]["secretKeyRef"]["key"]
        probes = [
            container[probe]["httpGet"]["path"]
            for probe in ("startupProbe", "livenessProbe", "readinessProbe")
            if "httpGet" in container.get(probe, {})
        ]
        found.append(
            Workload(
                name=doc["metadata"]["name"],
                kind=doc["kind"],
                argv=container.get("command", []) + container.get("args", []),
                config=config,
                secret_keys=secret_keys,
                probes=probes,
            )
        )
    return found


def on_this_host(argv: list[str], port: int) -> list[str]:
    """The manifest's command bound to 127.0.0.1:<port> (host networking: no shared 8000)."""
    rewritten = []
    for arg in argv:
        if arg.startswith("--host="):
            arg = "--host=127.0.0.1"
        elif arg.startswith("--port="):
            arg = f"--port={port}"
        rewritten.append(arg)
    return rewritten


@dataclass
class Containers:
    """Containers started for one test run; all removed at the end."""

    prefix: str
    directory: Path
    names: list[str] = field(default_factory=list)

    def run(self, workload: Workload, env: dict[str, str], argv: list[str], detach: bool) -> str:
        name = f"{self.prefix}-{workload.name}"
        env_file = self.directory / f"{workload.name}.env"
        env_file.write_text("".join(f"{key}={value}\n" for key, value in sorted(env.items())))
        env_file.chmod(0o600)
        self.names.append(name)
        # As the manifests run it: non-root, read-only root, a tmpfs on /tmp, no capabilities.
        hardened = ["--read-only", "--tmpfs=/tmp:rw,size=64m", "--user=10001:10001"]
        hardened += ["--cap-drop=ALL", "--security-opt=no-new-privileges"]
        podman(
            "run",
            f"--name={name}",
            "--network=host",
            *hardened,
            f"--env-file={env_file}",
            *(["--detach"] if detach else []),
            IMAGE,
            *argv,
            capture=detach,
        )
        return name

    def logs(self) -> None:
        for name in self.names:
            print(f"----- {name}", file=sys.stderr)
            podman("logs", "--tail=40", name, check=False)

    def remove(self) -> None:
        for name in self.names:
            podman("rm", "--force", "--time=10", name, capture=True, check=False)


@contextlib.contextmanager
def containers() -> Iterator[Containers]:
    with tempfile.TemporaryDirectory(prefix="socialcare-image-") as directory:
        started = Containers(f"socialcare-test-{uuid.uuid4().hex[:6]}", Path(directory))
        try:
            yield started
        except BaseException:
            started.logs()
            raise
        finally:
            started.remove()


def check_image_contents() -> None:
    """The final stage: uid 10001, labels, and none of the dev group's tools."""
    inspected = json.loads(podman("image", "inspect", IMAGE, capture=True).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "10001:10001", config["User"]
    labels = config.get("Labels") or {}
    for label in ("source", "version", "licenses", "revision"):
        assert labels.get(f"org.opencontainers.image.{label}"), f"label {label} missing"
    assert labels["org.opencontainers.image.version"] == PROJECT["version"]
    dev = [
        re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]
        for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())[
            "dependency-groups"
        ]["dev"]
    ]
    probe = (
        "import importlib.metadata as m, shutil, sys\n"
        "found = []\n"
        f"for name in {dev!r}:\n"
        "    try: m.distribution(name); found.append(name)\n"
        "    except m.PackageNotFoundError: pass\n"
        "found += ['uv'] if shutil.which('uv') else []\n"
        "found += ['pip'] if shutil.which('pip', path=sys.prefix + '/bin') else []\n"
        "print(' '.join(found))\n"
    )
    leftover = podman("run", "--rm", "--read-only", IMAGE, "python", "-c", probe, capture=True)
    assert not leftover.stdout.strip(), f"dev tools in the image: {leftover.stdout.strip()}"
    # Every native extension of the locked wheels finds its shared libraries in the base.
    unresolved = podman(
        "run",
        "--rm",
        "--read-only",
        IMAGE,
        "sh",
        "-c",
        "find /opt/venv -name '*.so*' -type f -exec ldd {} + | grep 'not found' || true",
        capture=True,
    ).stdout.strip()
    assert not unresolved, f"shared libraries missing from the base: {unresolved}"
    log(f"image: user 10001, labels {sorted(labels)}, no dev tools ({len(dev)} checked)")


def wait_for(url: str, name: str, deadline: float) -> None:
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=3)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(1)
    raise AssertionError(f"{name}: {url} not 200 after start-up: {last}")


def meta_signature(body: bytes, app_secret: str) -> str:
    import hmac

    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def check_webhook_through_gateway(gateway: str, admin_key: str) -> None:
    """A signed Meta comment through the gateway's container: accepted, then stored by ingest."""
    brand = f"image-{uuid.uuid4().hex[:8]}"
    app_secret = secrets.token_hex(16)
    auth = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=gateway, timeout=30) as client:
        created = client.post(
            "/v1/connections",
            headers=auth,
            json={
                "brand_id": brand,
                "platform": "meta",
                "name": f"{brand} page",
                "account_ids": ["424242"],
                "secrets": {"app_secret": app_secret, "verify_token": secrets.token_hex(8)},
                "default_lang": "es",
            },
        )
        assert created.status_code == 201, created.text
        connection_id = created.json()["id"]
        comment_id = f"424242_{uuid.uuid4().hex[:10]}"
        body = json.dumps(
            {
                "object": "page",
                "entry": [
                    {
                        "id": "424242",
                        "time": int(time.time()),
                        "changes": [
                            {
                                "field": "feed",
                                "value": {
                                    "item": "comment",
                                    "verb": "add",
                                    "post_id": "424242_1",
                                    "comment_id": comment_id,
                                    "parent_id": "424242_1",
                                    "created_time": int(time.time()),
                                    "from": {"id": "9001", "name": "Marta López"},
                                    "message": "El pedido llegó roto, ¿me ayudan?",
                                },
                            }
                        ],
                    }
                ],
            }
        ).encode()
        path = f"/v1/webhooks/meta/{connection_id}"
        forged = client.post(
            path,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": "sha256=" + "0" * 64,
            },
        )
        assert forged.status_code in {401, 403}, f"{forged.status_code} {forged.text}"
        accepted = client.post(
            path,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(body, app_secret),
            },
        )
        assert accepted.status_code == 200, f"{accepted.status_code} {accepted.text}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            page = client.get("/v1/interactions", headers=auth, params={"brand_id": brand})
            assert page.status_code == 200, page.text
            items = page.json()["items"]
            if items:
                assert items[0]["external_id"] == comment_id, items[0]
                log(f"webhook accepted through the gateway and stored as {items[0]['id']}")
                return
            time.sleep(1)
        raise AssertionError("the accepted webhook never became an interaction")


async def migrated_versions(database: str, schemas: list[str]) -> dict[str, str]:
    from sqlalchemy import text

    from shared.db import create_engine

    engine = create_engine(database, schema="public")
    try:
        async with engine.connect() as connection:
            versions = {}
            for schema in schemas:
                result = await connection.execute(
                    text(f'SELECT version_num FROM "{schema}".alembic_version')
                )
                versions[schema] = str(result.scalar_one())
            return versions
    finally:
        await engine.dispose()


def test() -> None:
    ensure_tools("podman", "runc")
    if not image_exists(IMAGE):
        raise SystemExit(f"{IMAGE} is not built: run `make image` first")
    check_image_contents()
    found = workloads(render_production())
    services = [item for item in found if item.kind == "Deployment"]
    jobs = [item for item in found if item.kind == "Job"]
    assert services, "no Deployment in the production overlay"
    assert jobs, "no Job in the production overlay"
    with running_infra("image", kafka=True, postgres=True) as infra, containers() as started:
        database = asyncio.run(create_database(infra["SOCIALCARE_TEST_DATABASE_URL"]))
        admin_key = f"sc_{secrets.token_hex(32)}"
        secret_values = {"database-url": database, "admin-key": admin_key}
        ports = {service.name: free_port() for service in services}

        def environment(workload: Workload) -> dict[str, str]:
            env = dict(workload.config)
            for variable, key in workload.secret_keys.items():
                env[variable] = secret_values.setdefault(key, secrets.token_hex(32))
            # Addresses of this host instead of the cluster's; everything else as deployed.
            env["SOCIALCARE_KAFKA_BOOTSTRAP"] = infra["SOCIALCARE_KAFKA_BOOTSTRAP"]
            env["SOCIALCARE_KAFKA_CREATE_TOPICS"] = "true"  # no Strimzi topics here
            for variable, value in env.items():
                for name, port in ports.items():
                    value = value.replace(f"http://{name}:8000", f"http://127.0.0.1:{port}")
                env[variable] = value
            return env

        for job in jobs:
            started.run(job, environment(job), job.argv, detach=False)
            log(f"job {job.name}: {' '.join(job.argv)} exited 0")
        versions = asyncio.run(migrated_versions(database, [item.name for item in services]))
        log(f"migrated schemas: {versions}")

        for service in services:
            argv = on_this_host(service.argv, ports[service.name])
            started.run(service, environment(service), argv, detach=True)
        deadline = time.monotonic() + STARTUP_SECONDS
        for service in services:
            for path in service.probes or HEALTH_PATHS:
                wait_for(f"http://127.0.0.1:{ports[service.name]}{path}", service.name, deadline)
            log(f"{service.name}: {', '.join(sorted(set(service.probes)))} answer 200")
        assert "gateway" in ports, "no gateway Deployment"
        check_webhook_through_gateway(f"http://127.0.0.1:{ports['gateway']}", admin_key)
    log(f"{IMAGE}: {len(jobs)} job(s) and {len(services)} services passed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="build the image with podman")
    build_command.add_argument(
        "--base-image",
        default=os.environ.get("BASE_IMAGE") or None,
        help="base image (default: the Debian base made with mmdebstrap)",
    )
    commands.add_parser("test", help="run every service's container against real infrastructure")
    args = parser.parse_args()
    if args.command == "build":
        build(args.base_image)
    else:
        test()
    return 0


if __name__ == "__main__":
    sys.exit(main())
