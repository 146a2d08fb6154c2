"""The project's own local infrastructure: `make run` keeps its data between runs, so a broker must
start again on a directory it formatted before, with its topics still there; `with-infra` stops
what it started however it is ended."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from scripts.infra import ROOT, KafkaBroker, free_port
from shared.bus.admin import ensure_topics

pytestmark = pytest.mark.integration


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def test_a_broker_restarts_on_its_kept_data(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path / "kafka", free_port(), free_port())
    broker.start()
    try:
        asyncio.run(ensure_topics(broker.bootstrap, ["kept.between.runs"], partitions=1))
        first_id = broker.existing_cluster_id()
        assert first_id
    finally:
        broker.stop()
    broker.start()  # formatted before: the same cluster id, not a new one
    try:
        assert broker.existing_cluster_id() == first_id
        assert "kept.between.runs" in asyncio.run(_topics(broker.bootstrap))
    finally:
        broker.stop()


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _listening(port: int) -> bool:
    """Whether any socket listens on `port`, from the kernel's tables. Binding the port is not the
    test: a connection the server closed first keeps it in TIME_WAIT for a minute after the
    server is gone."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "0A":  # 0A: TCP_LISTEN
                    return True
    return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGHUP])
def test_with_infra_stops_postgres_when_signalled(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    """`timeout`, CI runners and a closed terminal end `with-infra` with TERM or HUP: the
    command and then the PostgreSQL server it started must stop, the port and data go away."""
    name = f"signal-{uuid.uuid4().hex[:8]}"
    child_pid_file = tmp_path / "child.pid"
    with (tmp_path / "infra.log").open("wb") as infra_log:
        wrapper = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "scripts" / "infra.py"),
                "with-infra",
                "--name",
                name,
                "--postgres",
                "--",
                "sh",
                "-c",
                f"echo $$ > {child_pid_file}; exec sleep 300",
            ],
            cwd=ROOT,
            stdout=infra_log,
            stderr=subprocess.STDOUT,
        )
    server_pid: int | None = None
    child_pid: int | None = None
    pg_dirs: list[Path] = []
    try:
        started = _wait_until(
            lambda: wrapper.poll() is not None or child_pid_file.exists(), timeout=180
        )
        assert started
        assert wrapper.poll() is None, (tmp_path / "infra.log").read_text()
        pg_dirs = list(Path(tempfile.gettempdir()).glob(f"socialcare-{name}-pg-*"))
        assert len(pg_dirs) == 1
        # postmaster.pid: line 1 the server's pid, line 4 its port.
        lines = (pg_dirs[0] / "data" / "postmaster.pid").read_text().splitlines()
        server_pid, port = int(lines[0]), int(lines[3])
        assert _alive(server_pid)
        assert _listening(port)
        _wait_until(lambda: child_pid_file.read_text().strip().isdigit(), timeout=10)
        child_pid = int(child_pid_file.read_text())

        wrapper.send_signal(stop_signal)

        returncode = wrapper.wait(60)
        assert _wait_until(lambda: not _alive(server_pid), timeout=30)
        assert _wait_until(lambda: not _listening(port), timeout=30)
        assert not _alive(child_pid)
        assert returncode == 128 + stop_signal
        assert not pg_dirs[0].exists()
        assert not (ROOT / ".run" / name).exists()
        log_text = (tmp_path / "infra.log").read_text()
        assert f"{stop_signal.name} received; stopping" in log_text
        assert "PostgreSQL stopped" in log_text
    finally:
        # Without the fix the server outlives the wrapper: do not leave it to the machine.
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()
        for pid in (server_pid, child_pid):
            if pid is not None and _alive(pid):
                os.kill(pid, signal.SIGKILL)
        for pg_dir in pg_dirs:
            shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(ROOT / ".run" / name, ignore_errors=True)
