"""Local infrastructure for socialcare: a single-node Kafka broker (KRaft) and a PostgreSQL cluster.

Both run as plain processes under `.run/<name>/`, with no Docker. The Kafka jars come from Maven
Central through `deploy/kafka/pom.xml` and are cached in `.cache/kafka/libs`; PostgreSQL comes from
Debian's packages and is installed when missing.

Used by `make run`, `make test` and the benchmarks:

    python scripts/infra.py kafka-fetch
    python scripts/infra.py with-infra --kafka --postgres -- pytest -q
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
RUN = ROOT / ".run"
KAFKA_LIBS = CACHE / "kafka" / "libs"
KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_LOG_CONFIG = ROOT / "deploy" / "kafka" / "log4j2.properties"
PG_USER = "postgres"


def log(message: str) -> None:
    print(f"[infra] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.returncode} before port {port} opened"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise TimeoutError(f"port {port} did not open within {timeout:.0f}s")


# --------------------------------------------------------------------------------------- Kafka


def kafka_fetch() -> None:
    """Resolve the broker's jars once; later runs reuse the cache."""
    if KAFKA_LIBS.is_dir() and any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        return
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise SystemExit(
            "Kafka needs Java 17+ and Maven: apt-get install openjdk-17-jre-headless maven"
        )
    log("fetching the Apache Kafka jars through Maven (first run only)")
    tmp = KAFKA_LIBS.with_suffix(".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ],
        check=True,
    )
    shutil.rmtree(KAFKA_LIBS, ignore_errors=True)
    tmp.rename(KAFKA_LIBS)


@dataclass
class KafkaBroker:
    directory: Path
    port: int
    controller_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self, main_class: str, *args: str, heap: str) -> list[str]:
        # C1 only (TieredStopAtLevel=1): on a developer's or CI's couple of cores, C2 compiling
        # the broker took ~80% of its CPU through the first tens of thousands of requests
        # (bench/ingest.py: 113 us of broker CPU per webhook with C2, 21 us with C1 alone).
        # Production brokers run under Strimzi with their own JVM options (deploy/).
        return [
            "java",
            *heap.split(),
            "-XX:+UseG1GC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={KAFKA_LOG_CONFIG}",
            "-cp",
            f"{KAFKA_LIBS}/*",
            main_class,
            *args,
        ]

    def write_config(self) -> Path:
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.directory / "server.properties"
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "3",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "log.retention.hours": "24",
        }
        config.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        return config

    def existing_cluster_id(self) -> str | None:
        """The id a kept data directory was formatted with (`make run` keeps its data between
        runs; formatting it again under a new id fails)."""
        meta = self.directory / "data" / "meta.properties"
        if not meta.exists():
            return None
        for line in meta.read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "cluster.id" and value.strip():
                return value.strip()
        return None

    def start(self, timeout: float = 90.0) -> None:
        kafka_fetch()
        config = self.write_config()
        cluster_id = self.existing_cluster_id() or (
            base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        )
        # `--cluster-id=<id>`: an id may begin with "-", which a separate argument would turn
        # into an option.
        subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",
                "-c",
                str(config),
                "--ignore-formatted",
                heap="-Xmx256m",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        log_file = (self.directory / "broker.log").open("ab")
        self.process = subprocess.Popen(
            self._java("kafka.Kafka", str(config), heap="-Xms256m -Xmx512m"),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (self.directory / "pid").write_text(str(self.process.pid))
        wait_for_port(self.port, timeout, self.process)
        wait_for_kafka(self.bootstrap, timeout)
        log(f"Kafka broker ready on {self.bootstrap} (pid {self.process.pid})")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        log("Kafka broker stopped")


def wait_for_kafka(bootstrap: str, timeout: float) -> None:
    """An open port is not readiness: ask the broker for its metadata until it answers."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> None:
        deadline = time.monotonic() + timeout
        while True:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
            try:
                await admin.start()
                await admin.list_topics()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
            finally:
                await admin.close()

    asyncio.run(probe())


# ---------------------------------------------------------------------------------- PostgreSQL


def apt_install(*packages: str) -> None:
    log(f"installing {', '.join(packages)} from Debian's packages")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
    )


def postgres_bin() -> Path:
    """Find the newest installed PostgreSQL server; install Debian's package when absent."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not candidates:
        if os.geteuid() != 0:
            raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
        apt_install("postgresql")
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return candidates[-1].parent


# ------------------------------------------------------------------------------------ Chromium

CHROMIUM = Path("/usr/bin/chromium")


def chromium_bin() -> Path:
    """Debian's headless-capable Chromium, for the browser test of /docs; installed when absent
    (browser builds that test tools download themselves are not reachable everywhere)."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0:
            raise SystemExit("Chromium is not installed: apt-get install chromium")
        apt_install("chromium")
    return CHROMIUM


STATEMENT_STATS_ENV = "SOCIALCARE_PG_STAT_STATEMENTS"


def statement_stats_requested() -> bool:
    """The opt-in for pg_stat_statements on throwaway clusters (benchmarks): it costs a little
    on every statement, so tests and `make run` go without."""
    return os.environ.get(STATEMENT_STATS_ENV, "").lower() in {"1", "true", "yes"}


def pg_stat_statements_library(binaries: Path) -> Path | None:
    """The server's pg_stat_statements module when its package ships it (Debian's does)."""
    library = binaries.parent / "lib" / "pg_stat_statements.so"
    return library if library.exists() else None


@dataclass
class PostgresCluster:
    directory: Path
    port: int
    started: bool = False
    # A benchmark's database is new and its run lasts about the default naptime (1 min), so
    # autovacuum hardly ever visits its tables during the run; a shorter one shows what the
    # vacuuming and the fresh statistics change (`with-infra --autovacuum-naptime 1s`).
    autovacuum_naptime: str | None = None

    def _run_as_owner(
        self, args: list[str], **kwargs: object
    ) -> subprocess.CompletedProcess[bytes]:
        # The server refuses to run as root, so it runs as the postgres system user.
        if os.geteuid() == 0:
            args = ["runuser", "-u", PG_USER, "--", *args]
        return subprocess.run(args, check=True, **kwargs)  # type: ignore[call-overload,no-any-return]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{self.port}/socialcare"

    def start(self) -> None:
        binaries = postgres_bin()
        data = self.directory / "data"
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, PG_USER, PG_USER)
        if not (data / "PG_VERSION").exists():
            self._run_as_owner(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    PG_USER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                stdout=subprocess.DEVNULL,
            )
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
            "-c shared_buffers=128MB"
        )
        if self.autovacuum_naptime is not None:
            options += f" -c autovacuum_naptime={self.autovacuum_naptime}"
        if statement_stats_requested():
            library = pg_stat_statements_library(binaries)
            if library is None:
                log("SOCIALCARE_PG_STAT_STATEMENTS is set but pg_stat_statements is not installed")
            else:
                # Per-statement totals for the benchmarks (`bench/routing.py --pg-stats`).
                options += (
                    " -c shared_preload_libraries=pg_stat_statements"
                    " -c pg_stat_statements.track=all"
                )
        self._run_as_owner(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.directory / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            stdout=subprocess.DEVNULL,
        )
        self.started = True
        self._run_as_owner(
            [
                str(binaries / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                PG_USER,
                "socialcare",
            ],
            stderr=subprocess.DEVNULL,
        )
        log(f"PostgreSQL ready on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        # postmaster.pid: a signal may have cut `pg_ctl start` short after the server forked.
        if not self.started and not (self.directory / "data" / "postmaster.pid").exists():
            return
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run_as_owner(
                [
                    str(postgres_bin() / "pg_ctl"),
                    "-D",
                    str(self.directory / "data"),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ],
                stdout=subprocess.DEVNULL,
            )
        self.started = False
        log("PostgreSQL stopped")


async def create_database(postgres_url: str) -> str:
    """A fresh, empty database on a running cluster; returns its URL (tests, benchmarks)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from shared.db import create_engine

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, schema="public", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(postgres_url).set(database=name).render_as_string(hide_password=False)


# -------------------------------------------------------------------------------------- entry


@contextlib.contextmanager
def running_infra(
    name: str, *, kafka: bool, postgres: bool, autovacuum_naptime: str | None = None
) -> Iterator[dict[str, str]]:
    """Start throwaway infrastructure on free ports; yield the environment that points at it."""
    base = RUN / name
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    env: dict[str, str] = {}
    broker = KafkaBroker(base / "kafka", free_port(), free_port()) if kafka else None
    # Outside the checkout: the server runs as the postgres user, who may not be able to enter
    # the directory a clone lives in.
    pg_dir = Path(tempfile.mkdtemp(prefix=f"socialcare-{name}-pg-")) if postgres else None
    cluster = (
        PostgresCluster(pg_dir, free_port(), autovacuum_naptime=autovacuum_naptime)
        if pg_dir is not None
        else None
    )
    try:
        if cluster is not None:
            cluster.start()
            env["SOCIALCARE_TEST_DATABASE_URL"] = cluster.url
        if broker is not None:
            broker.start()
            env["SOCIALCARE_KAFKA_BOOTSTRAP"] = broker.bootstrap
        yield env
    finally:
        if broker is not None:
            broker.stop()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
        if pg_dir is not None:
            shutil.rmtree(pg_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------ signals

# The signals that end `with-infra` with its infrastructure stopped: Ctrl-C, `timeout` and CI
# runners (TERM), a closed terminal (HUP). Python's default for TERM and HUP ends the process on
# the spot, leaving the broker and the PostgreSQL server running.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# How long the command has to end after the signal is passed on, before it is killed.
CHILD_GRACE_SECONDS = 30.0


class Terminated(SystemExit):
    """Raised by the stop-signal handler. A SystemExit, so that it unwinds through every
    `finally` (asyncio's loop passes SystemExit on; it would log and swallow an Exception) and
    still exits with the shell's status for a signal, 128 + its number, if nothing catches it."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def _already_stopping(signum: int, _frame: object) -> None:
    # A second signal must not cut the stopping of the broker or the server short.
    log(f"{signal.Signals(signum).name} received while stopping; still stopping")


def _keep_stopping_on_signals() -> None:
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _already_stopping)


def _stop_on_signal(signum: int, _frame: object) -> None:
    _keep_stopping_on_signals()
    log(f"{signal.Signals(signum).name} received; stopping")
    raise Terminated(signum)


def exit_status(returncode: int) -> int:
    """A child's return code as a shell reports it: 128 + N for a child ended by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def run_child(argv: list[str], env: dict[str, str]) -> int:
    """Run the command; on a stop signal pass it on, give the command time to end, and return
    the command's own non-zero status or else 128 + the signal's number."""
    child = subprocess.Popen(argv, env=env)
    try:
        return exit_status(child.wait())
    except Terminated as stop:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(stop.signum)
        try:
            status = exit_status(child.wait(CHILD_GRACE_SECONDS))
        except subprocess.TimeoutExpired:
            log(f"the command did not end within {CHILD_GRACE_SECONDS:.0f}s; killing it")
            child.kill()
            status = exit_status(child.wait())
        return status or 128 + stop.signum
    finally:
        _keep_stopping_on_signals()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("kafka-fetch", help="download the Kafka jars into .cache")
    commands.add_parser("postgres-install", help="install PostgreSQL when absent")
    commands.add_parser("chromium-install", help="install Chromium (browser tests) when absent")
    wrapper = commands.add_parser("with-infra", help="run a command with Kafka/PostgreSQL up")
    wrapper.add_argument("--name", default="test")
    wrapper.add_argument("--kafka", action="store_true")
    wrapper.add_argument("--postgres", action="store_true")
    wrapper.add_argument(
        "--autovacuum-naptime",
        metavar="INTERVAL",
        help="PostgreSQL's autovacuum_naptime, e.g. 1s (benchmarks: short runs on new tables)",
    )
    wrapper.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()

    if args.command == "kafka-fetch":
        kafka_fetch()
        return 0
    if args.command == "postgres-install":
        postgres_bin()
        return 0
    if args.command == "chromium-install":
        chromium_bin()
        return 0
    argv = [arg for arg in args.argv if arg != "--"] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        parser.error("with-infra needs a command after --")
    # From here on a stop signal unwinds through running_infra's `finally`, which stops what
    # was started, whether it arrives while the infrastructure starts or while the command runs.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _stop_on_signal)
    with running_infra(
        args.name,
        kafka=args.kafka,
        postgres=args.postgres,
        autovacuum_naptime=args.autovacuum_naptime,
    ) as extra:
        return run_child(argv, {**os.environ, **extra})


if __name__ == "__main__":
    sys.exit(main())
