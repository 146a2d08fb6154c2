"""WhatsApp Cloud API webhook bodies parsed into `ParsedItem`s."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.ingest.platforms import PayloadError, parse_whatsapp_payload
from services.ingest.platforms.whatsapp import summarise_message
from shared.events.interactions import Channel, InteractionKind

FIXTURES = Path(__file__).parent / "fixtures"
PHONE_NUMBER_ID = "106540352242922"


def _load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return payload


def test_every_message_type_gets_a_readable_summary() -> None:
    result = parse_whatsapp_payload(_load("whatsapp_message_types.json"))

    assert result.unknown == []
    summaries = {item.external_id: item.text for item in result.items if item.change == "received"}
    assert summaries == {
        "wamid.IMAGE01": "[image] Así me llegó la caja",
        "wamid.AUDIO01": "[audio]",
        "wamid.VIDEO01": "[video] Love the new store in Madrid!",
        "wamid.DOC01": "[document] invoice-48213.pdf",
        "wamid.STICKER01": "[sticker]",
        "wamid.LOC01": "[location] Tienda Acme Gran Vía, Gran Vía 1, Madrid",
        "wamid.CONTACTS01": "[contacts] Ana López",
        "wamid.INTER01": "[interactive] Seguir mi pedido",
        "wamid.INTER02": "[interactive] Returns",
        "wamid.BUTTON01": "[button] Yes, deliver tomorrow",
        "wamid.UNSUP01": "[unsupported]",
        "wamid.TEXT01": "Llevo dos semanas esperando mi pedido y nadie me responde 😡",
    }


def test_messages_are_threaded_by_customer_and_named_from_contacts() -> None:
    result = parse_whatsapp_payload(_load("whatsapp_message_types.json"))

    received = [item for item in result.items if item.change == "received"]
    assert {item.channel for item in received} == {Channel.whatsapp}
    assert {item.kind for item in received} == {InteractionKind.direct_message}
    assert {item.account_external_id for item in received} == {PHONE_NUMBER_ID}
    by_thread = {item.thread_external_id: item.author.display_name for item in received}
    assert by_thread == {"34612345678": "Lucía Fernández", "447700900123": "Mark Thompson"}
    text = next(item for item in received if item.external_id == "wamid.TEXT01")
    assert text.created_at == datetime.fromtimestamp(1795480120, tz=UTC)
    button = next(item for item in received if item.external_id == "wamid.BUTTON01")
    assert button.parent_external_id == "wamid.OURTEMPLATE01"


def test_a_reaction_is_engagement_on_the_message_it_names() -> None:
    result = parse_whatsapp_payload(_load("whatsapp_message_types.json"))

    (reaction,) = [item for item in result.items if item.change == "engagement"]
    assert reaction.external_id == "wamid.OURREPLY01"
    assert (reaction.engagement_kind, reaction.reaction_type) == ("reaction", "😡")
    assert reaction.text == "[reaction] 😡"
    assert reaction.thread_external_id == "34612345678"


def test_statuses_of_our_replies_and_unknown_fields() -> None:
    result = parse_whatsapp_payload(_load("whatsapp_statuses.json"))

    assert result.unknown == ["whatsapp.message_template_status_update"]
    assert [(item.change_kind, item.status) for item in result.items] == [
        ("status.sent", "sent"),
        ("status.delivered", "delivered"),
        ("status.read", "read"),
        ("status.failed", "failed"),
    ]
    assert all(item.change == "status" and item.own_message for item in result.items)
    failed = result.items[-1]
    assert failed.text == "Re-engagement message"
    assert failed.thread_external_id == "447700900123"
    # Each status of the same message is a distinct change for dedupe.
    assert len({item.dedupe_key for item in result.items[:3]}) == 3


@pytest.mark.parametrize(
    ("message", "summary"),
    [
        ({"type": "text", "text": {"body": "Hola"}}, "Hola"),
        (
            {"type": "location", "location": {"latitude": 40.4, "longitude": -3.7}},
            "[location] 40.4, -3.7",
        ),
        ({"type": "order", "order": {"product_items": [{}, {}]}}, "[order] 2 items"),
        (
            {"type": "system", "system": {"body": "Lucía changed her number"}},
            "[system] Lucía changed her number",
        ),
        ({"type": "image", "image": "not an object"}, "[image]"),
        ({"type": "hologram"}, None),
    ],
)
def test_summaries_of_rarer_and_broken_messages(
    message: dict[str, Any], summary: str | None
) -> None:
    assert summarise_message(message) == summary


def test_an_unknown_message_type_is_reported() -> None:
    payload = _load("whatsapp_message_types.json")
    payload["entry"][0]["changes"][0]["value"]["messages"] = [
        {"from": "34612345678", "id": "wamid.X", "timestamp": "1795480000", "type": "hologram"}
    ]

    result = parse_whatsapp_payload(payload)

    assert result.items == []
    assert result.unknown == ["whatsapp.message.hologram"]


def test_non_object_body_raises_payload_error() -> None:
    with pytest.raises(PayloadError):
        parse_whatsapp_payload(["whatsapp_business_account"])
