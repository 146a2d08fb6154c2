"""The manifests match the image and the services, for every service under services/.

Each service found in the repository (a `services/<name>/main.py`) must have a Deployment whose
command the image can run, whose environment sets every setting that would otherwise keep a
default only good on a developer's machine, and whose probes point at paths the app serves. A
service that lands later is covered by these tests without touching them. `make test-image` then
runs the same commands from the built image against a real broker and database.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings
from starlette.routing import Match

from shared.migrations import SERVICES as MIGRATED_SERVICES
from shared.settings import Environment, ServiceSettings, load_settings
from tests.deploy.test_manifests import K8S, Resource, of_kind, resources

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "Containerfile"
SERVICES = sorted(path.parent.name for path in (ROOT / "services").glob("*/main.py"))
PRODUCTION = K8S / "overlays" / "production"
INTERPRETERS = {"python", "python3"}
# A default containing one of these only works on a developer's machine (local addresses, SQLite
# files, the refused local secrets): a Deployment must set the value.
LOCAL_ONLY = re.compile(r"127\.0\.0\.1|localhost|sqlite|change-me", re.IGNORECASE)


def production() -> list[Resource]:
    return resources(PRODUCTION)


def socialcare_workloads(docs: list[Resource]) -> dict[str, Resource]:
    return {
        doc["metadata"]["name"]: doc
        for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job")
        if doc["metadata"]["labels"].get("app.kubernetes.io/part-of") == "socialcare"
    }


def container_of(workload: Resource) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = container
    return result


def argv(workload: Resource) -> list[str]:
    container = container_of(workload)
    command: list[str] = container.get("command", []) + container.get("args", [])
    return command


def environment(docs: list[Resource], workload: Resource) -> dict[str, str]:
    """What the container's process sees: its ConfigMaps, then its env, Secret references
    filled with the documented example Secret's values."""
    config_maps = {
        doc["metadata"]["name"]: doc.get("data", {}) for doc in of_kind(docs, "ConfigMap")
    }
    example = yaml.safe_load((K8S / "base" / "secret.example.yaml").read_text())
    container = container_of(workload)
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        reference = item["valueFrom"]["secretKeyRef"]
        assert reference["name"] == example["metadata"]["name"], item["name"]
        env[item["name"]] = example["stringData"][reference["key"]]
    return env


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.config")
    (found,) = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, ServiceSettings)
        and value.__module__ == module.__name__
    ]
    return found


def variables_of(cls: type[BaseSettings], field: str) -> set[str]:
    """The environment variables that set one field: the class's prefix, the shared prefix, or
    the field's own alias."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = {f"{prefix}{field}".upper(), f"SOCIALCARE_{field}".upper()}
    alias = cls.model_fields[field].validation_alias
    if isinstance(alias, str):
        names.add(alias.upper())
    return names


def load_with(
    monkeypatch: pytest.MonkeyPatch, cls: type[ServiceSettings], env: dict[str, str]
) -> ServiceSettings:
    import os

    for name in list(os.environ):
        if name.startswith("SOCIALCARE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(cls)


def plain(value: object) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


@cache
def runtime_packages() -> frozenset[str]:
    """What `uv sync --frozen --no-dev` installs: the project's locked dependencies, with their
    extras, transitively (markers ignored: a superset)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {package["name"]: package for package in lock["package"]}
    wanted, seen = ["socialcare"], set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        package = packages[name]
        for dependency in package.get("dependencies", []):
            wanted.append(dependency["name"])
            for extra in dependency.get("extra", []):
                optional = packages[dependency["name"]].get("optional-dependencies", {})
                wanted.extend(item["name"] for item in optional.get(extra, []))
    return frozenset(seen - {"socialcare"})


def console_scripts() -> set[str]:
    scripts = set()
    for name in runtime_packages():
        distribution = importlib.metadata.distribution(name)
        scripts |= {
            entry.name for entry in distribution.entry_points if entry.group == "console_scripts"
        }
    return scripts


def packages_in_final_stage() -> set[str]:
    """Top-level source folders the Containerfile's last stage copies into /app."""
    final = CONTAINERFILE.read_text().rsplit("\nFROM ", 1)[1]
    return set(re.findall(r"^COPY --from=\S+ /app/(\w+) /app/\1$", final, re.MULTILINE))


def test_every_service_has_a_deployment_and_its_migrations() -> None:
    assert SERVICES, "no services found"
    workloads = socialcare_workloads(production())
    assert set(SERVICES) <= set(workloads)
    assert set(SERVICES) == set(MIGRATED_SERVICES), "shared.migrations.SERVICES is out of date"


@pytest.mark.parametrize("name", [*SERVICES, "socialcare-migrate"])
def test_command_exists_in_the_image(name: str) -> None:
    command = argv(socialcare_workloads(production())[name])
    executable, arguments = command[0], command[1:]
    assert "/" not in executable, f"{name}: {executable} (the image puts its tools on PATH)"
    copied = packages_in_final_stage()
    assert {"shared", "services"} <= copied, copied
    if executable in INTERPRETERS:
        assert arguments[0] == "-m", command
        module = arguments[1]
        assert module.split(".")[0] in copied, f"{name}: {module} is not copied into the image"
        spec = importlib.util.find_spec(module)
        assert spec is not None, f"{name}: no module {module}"
        assert spec.origin is not None
        assert "__main__" in Path(spec.origin).read_text(), f"{name}: {module} is not a command"
        return
    assert executable in console_scripts(), f"{name}: {executable} is not installed in the image"
    (application,) = [argument for argument in arguments if re.fullmatch(r"[\w.]+:\w+", argument)]
    module_name, attribute = application.split(":")
    assert module_name.split(".")[0] in copied, f"{name}: {module_name} is not in the image"
    factory = getattr(importlib.import_module(module_name), attribute)
    assert callable(factory), application
    assert "--factory" in arguments, f"{name}: {application} is a factory"
    assert module_name == f"services.{name}.main", f"{name} runs {module_name}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_with_a_local_only_default_is_set(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    docs = production()
    workloads = socialcare_workloads(docs)
    # The migration Job loads every service's settings too (to find its database).
    for workload in (workloads[service], workloads["socialcare-migrate"]):
        env = environment(docs, workload)
        cls = settings_class(service)
        settings = load_with(monkeypatch, cls, env)  # production validators pass
        assert settings.environment == Environment.production, workload["metadata"]["name"]
        for field, info in cls.model_fields.items():
            if info.default is None or not LOCAL_ONLY.search(plain(info.default)):
                continue
            where = f"{workload['metadata']['name']}: {service}.{field}"
            assert variables_of(cls, field) & set(env), f"{where} keeps {info.default!r}"
            assert plain(getattr(settings, field)) != plain(info.default), where


def test_every_setting_the_manifests_set_is_read_by_a_service() -> None:
    docs = production()
    read: set[str] = set()
    for service in SERVICES:
        cls = settings_class(service)
        for field in cls.model_fields:
            read |= variables_of(cls, field)
    for name, workload in socialcare_workloads(docs).items():
        unknown = {
            variable
            for variable in environment(docs, workload)
            if variable.startswith("SOCIALCARE_") and variable not in read
        }
        assert not unknown, f"{name} sets settings no service reads: {sorted(unknown)}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_probe_points_at_a_path_the_service_serves(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    docs = production()
    deployment = socialcare_workloads(docs)[service]
    settings = load_with(monkeypatch, settings_class(service), environment(docs, deployment))
    app = importlib.import_module(f"services.{service}.main").create_app(settings)
    container = container_of(deployment)
    paths = {
        container[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
        if "httpGet" in container.get(probe, {})
    }
    paths.add(deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"])
    assert {"/healthz", "/readyz", "/metrics"} <= paths
    for path in paths:
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        served = [route for route in app.routes if route.matches(scope)[0] == Match.FULL]
        assert served, f"{service} serves no GET {path}"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8000}
    assert f"--port={ports['http']}" in argv(deployment)
