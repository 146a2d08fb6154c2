"""What the reply tests share: routing, guidelines and ingest served for real (PostgreSQL,
Kafka), ingest sending to the local platform server, a team with grants on the connection's
account, a brand guideline, and ways to open a case and follow its replies."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from services.guidelines.config import GuidelinesSettings
from services.guidelines.main import create_app as create_guidelines
from services.routing.cases.models import Case
from services.routing.config import RoutingSettings
from services.routing.replies.models import Reply
from shared.auth import Principal, PrincipalAuth
from shared.events.envelope import Envelope
from shared.events.interactions import Channel, Interaction
from shared.events.replies import ReplyEvent
from shared.events.topics import REPLIES
from tests.conftest import serve
from tests.fixtures.services import migrated_database, read_events
from tests.ingest.sends_platform import FakePlatforms
from tests.ingest.sends_support import PAGE_ID, send_settings
from tests.routing.cases_support import (
    Routing,
    Team,
    engine_for,
    interaction,
    open_case,
    seed_team,
    sessions_for,
)

SECRET = "routing-replies-test-internal-secret"
# The brand addresses customers as usted, and mixing in tú is an error, not a warning.
GUIDELINE: dict[str, Any] = {
    "packs": ["standards", "tone_style", "legal", "hr"],
    "formality": "usted",
    "overrides": {"tone.es.formality-brand": {"level": "error"}},
}
TU_REPLY = "Hola Marta, sentimos el retraso. Escríbenos por mensaje privado y te lo solucionamos."
USTED_REPLY = (
    "Buenos días, Marta. Disculpe las molestias: escríbanos por mensaje privado con su número "
    "de pedido y lo revisamos hoy mismo."
)


def as_key(
    *scopes: str,
    member_id: str | None = None,
    brand_id: str | None = None,
    departments: Sequence[str] | None = None,
    service: str = "routing",
    key_id: str = "key-replies",
) -> PrincipalAuth:
    principal = Principal(
        key_id=key_id,
        scopes=frozenset(scopes),
        departments=frozenset(departments) if departments is not None else None,
        member_id=member_id,
        member_brand_id=brand_id if member_id is not None else None,
    )
    return PrincipalAuth(principal, SECRET, service)


SYSTEM = as_key("cases:read", "replies:write", "replies:approve", "team:write")
ADMIN_INGEST = as_key("team:write", service="ingest")
ADMIN_GUIDELINES = as_key("guidelines:write", "guidelines:read", service="guidelines")


def secret() -> SecretStr:
    return SecretStr(SECRET)


def routing_settings(
    database: str, bootstrap: str, guidelines_url: str, **values: Any
) -> RoutingSettings:
    values.setdefault("case_scheduler_interval_seconds", 0.2)
    values.setdefault("outbox_poll_interval_seconds", 0.05)
    # A loaded test host can take seconds per check; the 503 of a slow check is not under test.
    values.setdefault("guidelines_timeout_seconds", 30.0)
    return RoutingSettings(
        database_url=database,
        kafka_bootstrap=bootstrap,
        internal_secret=secret(),
        guidelines_url=guidelines_url,
        **values,
    )


def ingest_settings(database: str, bootstrap: str, platform_url: str, **values: Any) -> Any:
    return send_settings(database, bootstrap, platform_url, internal_secret=secret(), **values)


def client_for_tests() -> httpx.AsyncClient:
    """A client whose idle connections end before uvicorn's keep-alive (5 s) closes them under
    a request (a ReadError between two tests)."""
    return httpx.AsyncClient(timeout=30, limits=httpx.Limits(keepalive_expiry=1.0))


@contextlib.asynccontextmanager
async def running_routing(settings: RoutingSettings) -> AsyncIterator[Routing]:
    from services.routing.main import create_app

    app = create_app(settings)
    async with serve(app) as url, client_for_tests() as client:
        for runner in app.state.runtime.consumers:
            await asyncio.wait_for(runner.ready.wait(), 60)
        yield Routing(url, client, app, settings.kafka_bootstrap, settings.database_url)


@contextlib.asynccontextmanager
async def running_ingest(settings: Any) -> AsyncIterator[str]:
    from services.ingest.main import create_app

    async with serve(create_app(settings)) as url:
        yield url


@contextlib.asynccontextmanager
async def running_guidelines(database: str, bootstrap: str) -> AsyncIterator[str]:
    settings = GuidelinesSettings(
        database_url=database, kafka_bootstrap=bootstrap, internal_secret=secret()
    )
    async with serve(create_guidelines(settings)) as url:
        yield url


@dataclass
class Databases:
    routing: str
    guidelines: str
    ingest: str


async def databases(postgres_url: str) -> Databases:
    return Databases(
        routing=await migrated_database(postgres_url, "routing"),
        guidelines=await migrated_database(postgres_url, "guidelines"),
        ingest=await migrated_database(postgres_url, "ingest"),
    )


async def publish_guideline(client: httpx.AsyncClient, guidelines_url: str, brand_id: str) -> None:
    response = await client.put(
        f"{guidelines_url}/v1/guidelines/{brand_id}", json=GUIDELINE, auth=ADMIN_GUIDELINES
    )
    assert response.status_code == 201, response.text


async def create_connection(client: httpx.AsyncClient, ingest_url: str, brand_id: str) -> str:
    response = await client.post(
        f"{ingest_url}/v1/connections",
        json={
            "brand_id": brand_id,
            "platform": "meta",
            "name": f"{brand_id} meta",
            "account_ids": [PAGE_ID],
            "secrets": {
                "app_secret": "meta-app-secret",
                "verify_token": "verify",
                "page_access_token": "EAAB-page-token-for-tests",
                "page_id": PAGE_ID,
                "whatsapp_token": "EAAG-whatsapp-token-for-tests",
                "whatsapp_phone_number_id": "106540352242922",
            },
        },
        auth=ADMIN_INGEST,
    )
    assert response.status_code == 201, response.text
    connection_id: str = response.json()["id"]
    return connection_id


TEAM: list[dict[str, Any]] = [
    # Ana writes (a lead: she could review, but never her own replies); Rosa reviews.
    {"name": "ana", "departments": ["customer_service"], "role": "lead"},
    {"name": "rosa", "departments": ["customer_service"], "role": "reviewer"},
    {"name": "pablo", "departments": ["customer_service"], "role": "agent"},
    {"name": "sin_permiso", "departments": ["customer_service"], "grant": False},
    {"name": "ventas", "departments": ["sales"], "role": "reviewer"},
]


async def seed(routing: Routing, brand_id: str, connection_id: str, **kwargs: Any) -> Team:
    return await seed_team(routing.sessions, brand_id, TEAM, connection_id=connection_id, **kwargs)


async def complaint_case(
    routing: Routing,
    brand_id: str,
    connection_id: str,
    *,
    channel: Channel = Channel.facebook,
    **values: Any,
) -> tuple[Case, Interaction]:
    item = interaction(
        brand_id,
        values.pop(
            "text", "Llevo dos semanas esperando mi pedido y nadie me responde. Qué vergüenza."
        ),
        connection_id=connection_id,
        channel=channel,
        **values,
    )
    return await open_case(routing, item), item


@dataclass
class Env:
    routing: Routing
    fake: FakePlatforms
    guidelines_url: str
    ingest_url: str
    client: httpx.AsyncClient
    bootstrap: str

    async def brand_with_team(
        self, channel: str = "facebook", *, guideline: bool = True, **settings: object
    ) -> tuple[str, str, Team]:
        """A new brand: its ingest connection, its guideline, its team (with grants on the
        connection's `channel` account), its reply settings."""
        brand = f"acme-{uuid.uuid4().hex[:8]}"
        connection = await create_connection(self.client, self.ingest_url, brand)
        if guideline:
            await publish_guideline(self.client, self.guidelines_url, brand)
        team = await seed(self.routing, brand, connection, channel=channel)
        if settings:
            response = await self.routing.client.put(
                f"{self.routing.url}/v1/replies/settings/{brand}", json=settings, auth=SYSTEM
            )
            assert response.status_code == 200, response.text
        return brand, connection, team

    async def post_reply(self, case_id: str, auth: httpx.Auth, **body: Any) -> httpx.Response:
        return await self.routing.client.post(
            f"{self.routing.url}/v1/cases/{case_id}/replies", json=body, auth=auth
        )


@contextlib.asynccontextmanager
async def replies_env(postgres_url: str, bootstrap: str) -> AsyncIterator[Env]:
    """Routing, guidelines and ingest running, ingest sending to a local platform server."""
    dbs = await databases(postgres_url)
    fake = FakePlatforms(page_id=PAGE_ID)
    async with (
        serve(fake.app) as platform_url,  # type: ignore[arg-type]
        running_guidelines(dbs.guidelines, bootstrap) as guidelines_url,
        running_ingest(ingest_settings(dbs.ingest, bootstrap, platform_url)) as ingest_url,
        running_routing(routing_settings(dbs.routing, bootstrap, guidelines_url)) as routing,
        client_for_tests() as client,
    ):
        yield Env(routing, fake, guidelines_url, ingest_url, client, bootstrap)


def member_key(team: Team, name: str, *scopes: str) -> PrincipalAuth:
    return as_key(
        *(scopes or ("cases:read", "replies:write", "replies:approve")),
        member_id=team.members[name],
        brand_id=team.brand_id,
        key_id=f"key-{name}",
    )


async def reply_row(routing: Routing, reply_id: str) -> Reply | None:
    async with engine_for(routing.database) as engine:
        async with sessions_for(engine)() as session:
            reply: Reply | None = await session.scalar(select(Reply).where(Reply.id == reply_id))
            return reply


async def wait_for_status(
    routing: Routing, reply_id: str, statuses: Sequence[str], *, within: float = 60
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    body: dict[str, Any] = {}
    while loop.time() < deadline:
        response = await routing.client.get(f"{routing.url}/v1/replies/{reply_id}", auth=SYSTEM)
        body = response.json()
        if body.get("status") in statuses:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"reply {reply_id} never became {statuses}: {body}")


async def reply_events(
    bootstrap: str, reply_id: str, expected: int, *, key: str | None = None, drain: bool = False
) -> list[Envelope]:
    keep: Callable[[Envelope], bool] = lambda envelope: (  # noqa: E731
        isinstance(envelope.data, ReplyEvent) and envelope.data.reply_id == reply_id
    )
    return await read_events(bootstrap, REPLIES, keep, expected, key=key, drain=drain, within=40)
