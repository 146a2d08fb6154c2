"""The default canned replies a brand starts with: seeded once on its first use, in Spanish and
English; each passes the real guideline check with the shipped packs whichever formality the
brand chose; the brand edits and deletes them, and they are not seeded again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update

from services.routing.canned.defaults import DEFAULT_CANNED_REPLIES
from services.routing.cases.models import Case
from tests.routing.cases_support import interaction, open_case, seed_team
from tests.routing.team_fixtures import brand
from tests.routing.test_canned_api import Canned, canned_suite

pytestmark = pytest.mark.integration

CODES = {"greeting", "dm-order", "apology", "idea-thanks", "handoff"}


@pytest.fixture(scope="module")
async def canned(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Canned]:
    async with canned_suite(postgres_url, kafka_bootstrap, canned_defaults=True) as running:
        yield running


async def listed(canned: Canned, brand_id: str, **params: Any) -> list[dict[str, Any]]:
    response = await canned.suite.get(
        "/v1/canned-replies", params={"brand_id": brand_id, "limit": 200, **params}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_the_defaults_cover_both_languages_with_the_same_codes() -> None:
    by_lang: dict[str, set[str]] = {}
    for default in DEFAULT_CANNED_REPLIES:
        by_lang.setdefault(default.lang, set()).add(default.code)
    assert by_lang == {"es": CODES, "en": CODES}


async def test_a_new_brand_gets_them_once_even_from_concurrent_first_requests(
    canned: Canned,
) -> None:
    brand_id = brand()
    first, second = await asyncio.gather(listed(canned, brand_id), listed(canned, brand_id))
    items = await listed(canned, brand_id)
    assert {(item["lang"], item["code"]) for item in items} == {
        (lang, code) for lang in ("es", "en") for code in CODES
    }
    assert len(items) == 10
    assert all(item["created_by"] == "socialcare-defaults" for item in items)
    assert all(item["enabled"] for item in items)
    dm_order = next(i for i in items if i["code"] == "dm-order" and i["lang"] == "es")
    assert dm_order["intents"] == ["complaint", "service_request", "question"]
    assert "{{customer_name}}" in dm_order["text"]
    assert len(first) == len(second) == 10


async def test_they_pass_the_real_check_in_each_formality_and_are_the_brands_to_change(
    canned: Canned,
) -> None:
    for formality in ("usted", "tu", "vosotros"):
        brand_id = brand()
        guideline = {"packs": ["standards", "tone_style", "legal", "hr"], "formality": formality}
        published = await canned.suite.put(f"/v1/guidelines/{brand_id}", guideline, key="admin")
        assert published.status_code in (200, 201), published.text
        for item in await listed(canned, brand_id):
            assert item["check_status"] == "unchecked"  # seeded, not yet checked by the brand
            # Saving its own text again runs the real check against the brand's guideline.
            saved = await canned.suite.patch(
                f"/v1/canned-replies/{item['id']}", {"text": item["text"]}
            )
            assert saved.status_code == 200, (formality, item["lang"], item["code"], saved.text)
            body = saved.json()
            assert body["check_status"] == "passed", (formality, item["code"], body["warnings"])
            assert body["guideline_version"] == 1
            assert body["version"] == 2


async def test_edited_and_deleted_defaults_stay_so(canned: Canned) -> None:
    brand_id = brand()
    # A code the brand already uses keeps the brand's own text.
    own = await canned.created(
        {
            "brand_id": brand_id,
            "lang": "es",
            "code": "greeting",
            "title": "Saludo de la casa",
            "text": "Hola, {{customer_name}}. Gracias por escribir.",
        }
    )
    items = await listed(canned, brand_id)
    assert len(items) == 10
    greeting = [i for i in items if i["code"] == "greeting" and i["lang"] == "es"]
    assert [g["id"] for g in greeting] == [own["id"]]

    handoff = next(i for i in items if i["code"] == "handoff" and i["lang"] == "en")
    deleted = await canned.suite.delete(f"/v1/canned-replies/{handoff['id']}")
    assert deleted.status_code == 204, deleted.text
    apology = next(i for i in items if i["code"] == "apology" and i["lang"] == "es")
    disabled = await canned.suite.patch(f"/v1/canned-replies/{apology['id']}", {"enabled": False})
    assert disabled.status_code == 200, disabled.text

    again = await listed(canned, brand_id)
    assert len(again) == 9
    assert ("en", "handoff") not in {(i["lang"], i["code"]) for i in again}
    assert next(i for i in again if i["id"] == apology["id"])["enabled"] is False


async def test_a_complaint_is_suggested_the_private_message_and_the_apology(
    canned: Canned,
) -> None:
    brand_id = brand()
    connection = str(uuid.uuid4())
    await seed_team(
        canned.routing.sessions,
        brand_id,
        [{"name": "Lucía Martín", "departments": ["customer_service"]}],
        connection_id=connection,
    )
    item = interaction(
        brand_id,
        "Mi pedido nº 88231 llegó roto y nadie me responde. Muy decepcionada.",
        connection_id=connection,
    )
    case = await open_case(canned.routing, item)
    async with canned.routing.sessions() as session, session.begin():
        await session.execute(
            update(Case)
            .where(Case.id == case.id)
            .values(intent="complaint", department="customer_service")
        )
    # The brand's first use of canned replies is this suggestion: the defaults are there.
    response = await canned.suite.get(f"/v1/cases/{case.id}/suggestions")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["lang"] == "es"
    assert result["fallback"] is False
    codes = [suggestion["code"] for suggestion in result["items"]]
    assert codes[:2] == ["apology", "dm-order"]  # they name the intent; the rest fit any
    assert "idea-thanks" not in codes
    apology = result["items"][0]
    assert "88231" in apology["text"]
    assert apology["text"].startswith("Hola, Marta.")
    assert apology["missing_variables"] == []
