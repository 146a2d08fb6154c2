"""Guideline rules: publish immutable versions, compile them once, check texts. No FastAPI."""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.guidelines import repository
from services.guidelines.engine import (
    CheckContext,
    CompiledGuideline,
    GuidelineConfig,
    RuleLoadError,
    TextTooLongError,
    compile_guideline,
    dump_pack_yaml,
    import_vale_style,
    load_default_packs,
)
from services.guidelines.exceptions import (
    ConcurrentPublishError,
    GuidelineNotFoundError,
    InvalidGuidelineError,
    TextTooLargeError,
)
from services.guidelines.models import CheckRecord, GuidelineVersion, bus_tables
from services.guidelines.schemas import BatchItem, CheckResponse, PackSummary
from shared.auth import Principal, ensure_brand_visible, ensure_every_department
from shared.bus.outbox import add_to_outbox
from shared.events.envelope import Envelope
from shared.events.guidelines import GuidelineCheckCompleted, GuidelinePublished
from shared.text.language import detect_language

SOURCE = "/socialcare/guidelines"


def invalid_guideline(exc: RuleLoadError) -> InvalidGuidelineError:
    """422 naming the rule, the line and the reason."""
    where = exc.source if exc.line is None else f"{exc.source}:{exc.line}"
    rule = f" rule {exc.rule_id!r}" if exc.rule_id else ""
    return InvalidGuidelineError(
        f"{where}:{rule} {exc.reason}",
        rule_id=exc.rule_id,
        line=exc.line,
        source=exc.source,
        reason=exc.reason,
    )


def ensure_brand(principal: Principal, brand_id: str) -> None:
    """404, as for a brand without a guideline, when the key is limited to other brands: it
    may neither read, check against, nor publish another brand's guideline."""
    ensure_brand_visible(
        principal, brand_id, GuidelineNotFoundError(f"brand {brand_id} has no guideline")
    )


def ensure_may_publish(principal: Principal, brand_id: str) -> None:
    """A guideline binds every department of the brand: a key limited to some departments may
    read and check against it, not publish it (403)."""
    ensure_brand(principal, brand_id)
    ensure_every_department(principal, "publishing a brand's guideline")


def pack_summaries() -> list[PackSummary]:
    summaries = []
    for pack in load_default_packs().values():
        goals: dict[str, int] = {}
        languages: set[str] = set()
        for rule in pack.rules:
            goals[rule.goal] = goals.get(rule.goal, 0) + 1
            languages.update(rule.languages)
        summaries.append(
            PackSummary(
                id=pack.id,
                title=pack.title,
                version=pack.version,
                rule_count=len(pack.rules),
                languages=sorted(languages),
                goals=goals,
            )
        )
    return summaries


class GuidelineCache:
    """Compiled guidelines per (brand, version), LRU-bounded, and each brand's latest version
    for a short TTL (publishing here invalidates it at once; other replicas within the TTL)."""

    def __init__(self, size: int, latest_ttl: float) -> None:
        self.size = size
        self.latest_ttl = latest_ttl
        self._compiled: OrderedDict[tuple[str, int], CompiledGuideline] = OrderedDict()
        self._latest: dict[str, tuple[float, int]] = {}

    def compiled(self, brand_id: str, row: GuidelineVersion) -> CompiledGuideline:
        key = (brand_id, row.version)
        found = self._compiled.get(key)
        if found is not None:
            self._compiled.move_to_end(key)
            return found
        config = GuidelineConfig.model_validate(row.config)
        try:
            found = compile_guideline(config)
        except RuleLoadError as exc:
            raise invalid_guideline(exc) from exc
        self.store(brand_id, row.version, found)
        return found

    def store(self, brand_id: str, version: int, compiled: CompiledGuideline) -> None:
        self._compiled[(brand_id, version)] = compiled
        if len(self._compiled) > self.size:
            self._compiled.popitem(last=False)

    def get_compiled(self, brand_id: str, version: int) -> CompiledGuideline | None:
        return self._compiled.get((brand_id, version))

    def latest(self, brand_id: str) -> int | None:
        entry = self._latest.get(brand_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def remember_latest(self, brand_id: str, version: int) -> None:
        self._latest[brand_id] = (time.monotonic() + self.latest_ttl, version)


async def publish_guideline(
    session: AsyncSession,
    brand_id: str,
    config: GuidelineConfig,
    *,
    published_by: str,
    cache: GuidelineCache,
) -> GuidelineVersion:
    """Validate and compile the guideline, store it as a new version, stage the event."""
    try:
        compiled = compile_guideline(config)
    except RuleLoadError as exc:
        raise invalid_guideline(exc) from exc
    version = await repository.next_version_number(session, brand_id)
    now = datetime.now(UTC)
    row = GuidelineVersion(
        brand_id=brand_id,
        version=version,
        config=config.model_dump(mode="json"),
        rule_count=len(compiled.rules),
        published_by=published_by,
        created_at=now,
    )
    repository.add(session, row)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Only where the version lock does not exist (SQLite): another publish took the number.
        raise ConcurrentPublishError(
            f"another version of {brand_id}'s guideline was published at the same time; retry"
        ) from exc
    await add_to_outbox(
        session,
        bus_tables,
        Envelope(
            type="guideline.published",
            source=SOURCE,
            key=brand_id,
            data=GuidelinePublished(
                brand_id=brand_id,
                version=version,
                packs=config.packs,
                rule_count=len(compiled.rules),
                published_at=now,
            ),
        ),
    )
    cache.store(brand_id, version, compiled)
    cache.remember_latest(brand_id, version)
    return row


async def current_guideline(
    session: AsyncSession, brand_id: str, cache: GuidelineCache
) -> tuple[int, CompiledGuideline]:
    version = cache.latest(brand_id)
    if version is not None:
        compiled = cache.get_compiled(brand_id, version)
        if compiled is not None:
            return version, compiled
    row = await repository.latest_version(session, brand_id)
    if row is None:
        raise GuidelineNotFoundError(f"brand {brand_id} has no guideline; PUT one first")
    cache.remember_latest(brand_id, row.version)
    return row.version, cache.compiled(brand_id, row)


def run_check(
    compiled: CompiledGuideline,
    version: int,
    *,
    text: str,
    lang: str | None,
    channel: str | None,
    context: CheckContext | None,
) -> CheckResponse:
    resolved_lang = lang or detect_language(text, default="en") or "en"
    try:
        result = compiled.check(text, lang=resolved_lang, channel=channel, context=context)
    except TextTooLongError as exc:
        raise TextTooLargeError(str(exc), field="text") from exc
    return CheckResponse(
        check_id=str(uuid.uuid4()),
        passed=result.passed,
        score=result.score,
        goal_scores=result.goal_scores,
        band=result.band,
        violations=result.violations,
        skipped_rules=result.skipped_rules,
        blockers=result.blockers,
        policy=result.policy,
        lang=resolved_lang,
        guideline_version=version,
    )


def check_batch_size(texts: list[str], *, max_texts: int, max_bytes: int) -> None:
    """413 when a batch holds more texts, or more UTF-8 bytes of text, than allowed."""
    if len(texts) > max_texts:
        raise TextTooLargeError(
            f"a batch holds at most {max_texts} texts; got {len(texts)}", field="items"
        )
    total = sum(len(text.encode("utf-8")) for text in texts)
    if total > max_bytes:
        raise TextTooLargeError(
            f"the texts of a batch hold at most {max_bytes} bytes together; got {total}",
            field="items",
        )


def run_batch(
    compiled: CompiledGuideline,
    version: int,
    items: Sequence[BatchItem],
    *,
    lang: str | None,
    channel: str | None,
) -> list[CheckResponse]:
    """Check every item of a batch (the batch's lang and channel where an item has none)."""
    return [
        run_check(
            compiled,
            version,
            text=item.text,
            lang=item.lang or lang,
            channel=item.channel or channel,
            context=item.context,
        )
        for item in items
    ]


async def record_check(
    session: AsyncSession,
    brand_id: str,
    response: CheckResponse,
    *,
    channel: str | None,
    reply_id: str | None = None,
    case_id: str | None = None,
) -> None:
    """Keep the check and stage `guideline.check_completed` for the KPI service."""
    event = GuidelineCheckCompleted(
        check_id=response.check_id,
        brand_id=brand_id,
        guideline_version=response.guideline_version,
        channel=channel,
        lang=response.lang,
        passed=response.passed,
        score=response.score,
        violation_count=len(response.violations),
        error_count=sum(1 for violation in response.violations if violation.level == "error"),
        rule_ids=sorted({violation.rule_id for violation in response.violations}),
        reply_id=reply_id,
        case_id=case_id,
        checked_at=datetime.now(UTC),
    )
    # The stored check is the event's own record: same fields, the event time as created_at.
    record = event.model_dump(exclude={"check_id", "checked_at"})
    repository.add(session, CheckRecord(id=event.check_id, created_at=event.checked_at, **record))
    await add_to_outbox(
        session,
        bus_tables,
        Envelope(type="guideline.check_completed", source=SOURCE, key=brand_id, data=event),
    )


VALE_FILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}\.ya?ml$")
MAX_VALE_FILE_BYTES = 64 * 1024


async def import_vale_rules(
    session: AsyncSession,
    brand_id: str,
    style: str,
    files: dict[str, str],
    *,
    published_by: str,
    cache: GuidelineCache,
) -> tuple[GuidelineVersion, list[str], list[str]]:
    """Publish a new version whose custom rules gain a Vale style's rules (same ids replaced)."""
    for name, text in files.items():
        if not VALE_FILE_NAME.match(name):
            raise InvalidGuidelineError(f"{name!r} is not a Vale rule file name", field="files")
        if len(text.encode("utf-8")) > MAX_VALE_FILE_BYTES:
            raise InvalidGuidelineError(f"{name} is over 64 KiB", field="files")
    with tempfile.TemporaryDirectory(prefix="vale-style-") as directory:
        folder = Path(directory) / style
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        try:
            pack = import_vale_style(folder)
        except RuleLoadError as exc:
            exc.source = Path(exc.source).name  # not the server's temporary path
            raise invalid_guideline(exc) from exc
    latest = await repository.latest_version(session, brand_id)
    config = GuidelineConfig.model_validate(latest.config) if latest else GuidelineConfig()
    imported = yaml.safe_load(dump_pack_yaml(pack))["rules"]
    imported_ids = {rule["id"] for rule in imported}
    existing: list[dict[str, object]] = []
    if config.custom_rules:
        current = yaml.safe_load(config.custom_rules) or {}
        existing = [rule for rule in current.get("rules", []) if rule.get("id") not in imported_ids]
    custom = {"id": "custom", "title": "Brand rules", "rules": existing + imported}
    config = config.model_copy(
        update={"custom_rules": yaml.safe_dump(custom, allow_unicode=True, sort_keys=False)}
    )
    row = await publish_guideline(session, brand_id, config, published_by=published_by, cache=cache)
    return row, sorted(imported_ids), list(pack.skipped)
