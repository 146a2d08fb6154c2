"""What the case tests share: a routing service on PostgreSQL and Kafka, a team seeded in its
tables, interactions shaped as ingest publishes them, and ways to wait for their cases."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.routing.cases.models import Case
from services.routing.config import RoutingSettings
from services.routing.handlers import build_intake
from services.routing.main import create_app
from services.routing.models import (
    AccessGrant,
    Account,
    Department,
    Member,
    MemberDepartment,
)
from services.routing.team.repository import bump_config_version
from services.routing.team.service import ensure_brand
from shared.auth import Principal, PrincipalAuth
from shared.db import create_engine, session_factory
from shared.events.cases import CaseEvent
from shared.events.envelope import Envelope
from shared.events.interactions import (
    Author,
    Channel,
    Flags,
    Interaction,
    InteractionDeleted,
    InteractionKind,
    Sentiment,
    SentimentLabel,
)
from shared.events.topics import INTERACTIONS
from shared.runtime import ServiceRuntime
from tests.fixtures.services import served

SECRET = "routing-cases-test-internal-secret"


def as_key(
    *scopes: str,
    departments: Sequence[str] | None = None,
    brands: Sequence[str] | None = None,
    key_id: str = "key-1",
) -> PrincipalAuth:
    principal = Principal(
        key_id=key_id,
        scopes=frozenset(scopes),
        departments=frozenset(departments) if departments is not None else None,
        brands=frozenset(brands) if brands is not None else None,
    )
    return PrincipalAuth(principal, SECRET, "routing")


READER = as_key("cases:read")
WRITER = as_key("cases:read", "cases:write")
ADMIN = as_key("admin")


def routing_settings(database: str, bootstrap: str, **values: Any) -> RoutingSettings:
    values.setdefault("case_scheduler_interval_seconds", 0.2)
    return RoutingSettings(
        database_url=database,
        kafka_bootstrap=bootstrap,
        internal_secret=SecretStr(SECRET),
        **values,
    )


@dataclass
class Team:
    brand_id: str
    departments: dict[str, str] = field(default_factory=dict)  # key → id
    members: dict[str, str] = field(default_factory=dict)  # name → id
    accounts: dict[str, str] = field(default_factory=dict)  # connection id → account id


async def seed_team(
    sessions: async_sessionmaker[AsyncSession],
    brand_id: str,
    members: Sequence[dict[str, Any]],
    *,
    connection_id: str | None = None,
    channel: str = "facebook",
) -> Team:
    """Departments, members (each: name, departments, languages, capacity, availability,
    skills) and, with a connection, an account every member holds a grant on."""
    team = Team(brand_id)
    async with sessions() as session, session.begin():
        # The brand's defaults (departments, matrix, rules) as on its first use.
        await ensure_brand(session, brand_id)
        for department in await session.scalars(
            select(Department).where(Department.brand_id == brand_id)
        ):
            team.departments[department.key] = department.id
        account_id = None
        if connection_id is not None:
            account_id = str(uuid.uuid4())
            session.add(
                Account(
                    id=account_id,
                    brand_id=brand_id,
                    platform="meta",
                    channel=channel,
                    external_account_id=f"page-{brand_id}",
                    connection_id=connection_id,
                    name="Página / Page",
                    enabled=True,
                )
            )
            team.accounts[connection_id] = account_id
        await session.flush()
        for spec in members:
            member = Member(
                id=spec.get("id") or str(uuid.uuid4()),
                brand_id=brand_id,
                name=spec["name"],
                email=f"{spec['name']}@{brand_id}.example",
                role=spec.get("role", "agent"),
                skills=list(spec.get("skills", [])),
                languages=list(spec.get("languages", ["es", "en"])),
                capacity=spec.get("capacity", 5),
                timezone="UTC",
                weekly_hours={},
                holidays=[],
                availability=spec.get("availability", "available"),
                open_cases=0,
            )
            session.add(member)
            team.members[spec["name"]] = member.id
            await session.flush()
            for key in spec["departments"]:
                session.add(
                    MemberDepartment(member_id=member.id, department_id=team.departments[key])
                )
            if account_id is not None and spec.get("grant", True):
                session.add(
                    AccessGrant(
                        member_id=member.id, account_id=account_id, can_read=True, can_reply=True
                    )
                )
        await bump_config_version(session, brand_id)
    return team


def interaction(
    brand_id: str,
    text: str,
    *,
    thread: str | None = None,
    lang: str | None = "es",
    channel: Channel = Channel.facebook,
    sentiment: SentimentLabel | None = SentimentLabel.negative,
    own: bool = False,
    connection_id: str | None = None,
    created_at: datetime | None = None,
    followers: int | None = 120,
    interaction_id: str | None = None,
) -> Interaction:
    now = datetime.now(UTC)
    thread = thread or f"t-{uuid.uuid4().hex[:12]}"
    external = uuid.uuid4().hex[:12]
    return Interaction(
        id=interaction_id or str(uuid.uuid4()),
        brand_id=brand_id,
        connection_id=connection_id,
        channel=channel,
        kind=InteractionKind.comment,
        external_id=f"c-{external}",
        thread_external_id=thread,
        author=Author(
            external_id="u-marta" if not own else "page",
            handle="marta" if not own else "brand",
            display_name="Marta",
            followers=followers,
            verified=False,
        ),
        text=text,
        lang=lang,
        sentiment=Sentiment(
            label=sentiment, score=-0.6 if sentiment is SentimentLabel.negative else 0.3
        )
        if sentiment
        else None,
        created_at=created_at or now,
        received_at=now,
        flags=Flags(own_message=own),
    )


def received(item: Interaction, event_type: str = "interaction.received") -> Envelope:
    return Envelope(type=event_type, source="socialcare/ingest", key=item.thread_key, data=item)


def deleted(item: Interaction) -> Envelope:
    data = InteractionDeleted(
        id=item.id,
        brand_id=item.brand_id,
        channel=item.channel,
        external_id=item.external_id,
        thread_external_id=item.thread_external_id,
        deleted_at=datetime.now(UTC),
    )
    return Envelope(
        type="interaction.deleted", source="socialcare/ingest", key=item.thread_key, data=data
    )


class Publisher:
    """Publishes envelopes on `socialcare.interactions` as ingest does (binary mode, keyed)."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")

    async def __aenter__(self) -> Publisher:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def send(self, *envelopes: Envelope, topic: str = INTERACTIONS) -> None:
        for envelope in envelopes:
            key, value, headers = envelope.to_kafka()
            await self.producer.send(topic, value, key=key, headers=headers)
        await self.producer.flush()


async def wait_for(
    check: Callable[[], Any], *, within: float = 30, every: float = 0.1, what: str = "condition"
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


async def cases_of(sessions: async_sessionmaker[AsyncSession], brand_id: str) -> list[Case]:
    async with sessions() as session:
        return list(
            (
                await session.scalars(
                    select(Case).where(Case.brand_id == brand_id).order_by(Case.opened_at, Case.id)
                )
            ).all()
        )


@dataclass
class Routing:
    url: str
    client: httpx.AsyncClient
    app: FastAPI
    bootstrap: str
    database: str

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.runtime.sessions


@contextlib.asynccontextmanager
async def running_routing(database: str, bootstrap: str, **values: Any) -> AsyncIterator[Routing]:
    app = create_app(routing_settings(database, bootstrap, **values))
    async with served(app) as (url, client):
        runtime: ServiceRuntime = app.state.runtime
        for runner in runtime.consumers:
            await asyncio.wait_for(runner.ready.wait(), 30)
        yield Routing(url, client, app, bootstrap, database)


@contextlib.asynccontextmanager
async def engine_for(database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database, schema="routing")
    try:
        yield engine
    finally:
        await engine.dispose()


def sessions_for(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


def case_event(envelope: Envelope) -> CaseEvent:
    assert isinstance(envelope.data, CaseEvent), envelope.type
    return envelope.data


def is_case(case_id: str) -> Callable[[Envelope], bool]:
    return lambda envelope: (
        isinstance(envelope.data, CaseEvent) and envelope.data.case_id == case_id
    )


async def take_in(routing: Routing, *envelopes: Envelope) -> None:
    """Hand envelopes to the intake as one poll would, without Kafka (for API tests)."""
    intake = build_intake(routing_settings(routing.database, routing.bootstrap))
    async with routing.sessions() as session, session.begin():
        received_ = [e for e in envelopes if e.type != "interaction.deleted"]
        await intake.take_in(session, received_)
        await intake.take_deletions(
            session, [e for e in envelopes if e.type == "interaction.deleted"]
        )
    routing.runtime.notify_outbox()


async def open_case(routing: Routing, item: Interaction) -> Case:
    await take_in(routing, received(item))
    async with routing.sessions() as session:
        case = await session.scalar(
            select(Case).where(Case.thread_key == item.thread_key).order_by(Case.opened_at.desc())
        )
    assert case is not None
    return case
