"""Load rule packs and guidelines from YAML, with errors that name the rule and the line."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any, cast

import yaml
from pydantic import ValidationError

from .errors import RuleLoadError
from .kinds import KIND_COMPILERS, BrandFacts, KindError
from .models import GOALS, LEVELS, GuidelineConfig, Rule, RuleExample, RuleExamples, RulePack

DEFAULT_PACK_IDS = ("standards", "tone_style", "legal", "hr")
_RULE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_COMMON_FIELDS = frozenset(
    {
        "id",
        "kind",
        "extends",
        "level",
        "goal",
        "message",
        "languages",
        "channels",
        "scope",
        "suggestions",
        "description",
        "link",
        "examples",
        "params",
    }
)
SCOPES = ("text", "sentence", "paragraph", "heading", "raw", "list", "summary")


def parse_yaml_with_lines(text: str, *, source: str) -> tuple[Any, yaml.Node | None]:
    """Parse YAML safely and also return the node tree, whose marks give line numbers."""
    try:
        # The reader refuses control characters as it is built: inside the try.
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise RuleLoadError(f"invalid YAML: {exc}", source=source) from exc
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise RuleLoadError(f"invalid YAML: {exc.problem}", source=source, line=line) from exc
    except yaml.YAMLError as exc:
        raise RuleLoadError(f"invalid YAML: {exc}", source=source) from exc
    finally:
        loader.dispose()
    return data, node


def _field_lines(node: yaml.Node | None) -> dict[str, int]:
    """Line of each key of a mapping node (1-based)."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                lines[str(key_node.value)] = key_node.start_mark.line + 1
    return lines


def _mapping_item(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return cast(yaml.Node, value_node)
    return None


def _string_list(value: Any, field: str, fail: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        fail(f"'{field}' must be a list of strings", field)
    return tuple(value)


_LANG_RE = re.compile(r"^[a-z]{2}$")


def _per_language_text(value: Any, field: str, fail: Any) -> tuple[str, dict[str, str]]:
    """A message given once (``"..."``) or per language (``{es: "...", en: "..."}``)."""
    if isinstance(value, str) and value.strip():
        return value.strip(), {}
    if isinstance(value, dict) and value:
        texts: dict[str, str] = {}
        for lang, text in value.items():
            if not isinstance(lang, str) or not _LANG_RE.match(lang):
                fail(f"'{field}' keys are two-letter language codes, got {lang!r}", field)
            if not isinstance(text, str) or not text.strip():
                fail(f"'{field}.{lang}' must be a non-empty string", field)
            texts[lang] = text.strip()
        return next(iter(texts.values())), texts
    fail(f"'{field}' is required: a string or a mapping of language to string", field)
    raise AssertionError  # fail() raises


def _per_language_list(value: Any, fail: Any) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """Suggestions given once (a list) or per language (``{es: [...], en: [...]}``)."""
    if isinstance(value, dict):
        by_lang: dict[str, tuple[str, ...]] = {}
        for lang, items in value.items():
            if not isinstance(lang, str) or not _LANG_RE.match(lang):
                fail(
                    f"'suggestions' keys are two-letter language codes, got {lang!r}", "suggestions"
                )
            by_lang[lang] = _string_list(items, f"suggestions.{lang}", fail)
        return (next(iter(by_lang.values())) if by_lang else ()), by_lang
    return _string_list(value, "suggestions", fail), {}


def _examples(value: Any, fail: Any) -> RuleExamples:
    if value is None:
        return RuleExamples()
    if not isinstance(value, dict):
        fail("'examples' must be a mapping with 'good' and/or 'bad'", "examples")
    unknown = set(value) - {"good", "bad", "brand", "context", "channel"}
    if unknown:
        fail(f"unknown field(s) in examples: {', '.join(sorted(unknown))}", "examples")

    def items(key: str) -> tuple[RuleExample, ...]:
        raw = value.get(key) or []
        if not isinstance(raw, list):
            fail(f"'examples.{key}' must be a list", "examples")
        parsed = []
        for item in raw:
            if isinstance(item, str):
                parsed.append(RuleExample(item))
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                parsed.append(
                    RuleExample(
                        item["text"], item.get("channel"), item.get("context"), item.get("lang")
                    )
                )
            else:
                fail(
                    f"each 'examples.{key}' item is a text or {{text, channel, context}}",
                    "examples",
                )
        return tuple(parsed)

    brand = value.get("brand") or {}
    context = value.get("context")
    if not isinstance(brand, dict) or (context is not None and not isinstance(context, dict)):
        fail("'examples.brand' and 'examples.context' must be mappings", "examples")
    return RuleExamples(items("good"), items("bad"), brand, context, value.get("channel"))


def build_rule(raw: Any, *, source: str, line: int | None, node: yaml.Node | None) -> Rule:
    """Validate one rule mapping and compile it once to catch kind-specific errors."""
    lines = _field_lines(node)
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    rule_id = rule_id if isinstance(rule_id, str) else None

    def fail(reason: str, field: str | None = None) -> None:
        raise RuleLoadError(
            reason, source=source, rule_id=rule_id, line=lines.get(field or "", line)
        )

    if not isinstance(raw, dict):
        fail("a rule must be a mapping")
    if rule_id is None or not _RULE_ID_RE.match(rule_id):
        fail("'id' is required: letters, digits, '_', '.', '-'", "id")
    kind_name = raw.get("kind", raw.get("extends"))
    if kind_name not in KIND_COMPILERS:
        known = ", ".join(sorted(KIND_COMPILERS))
        fail(f"unknown kind {kind_name!r} (known: {known})", "kind" if "kind" in raw else "extends")
    level = raw.get("level", "warning")
    if level not in LEVELS:
        fail(f"level must be one of {', '.join(LEVELS)}", "level")
    goal = raw.get("goal", "style")
    if goal not in GOALS:
        fail(f"goal must be one of {', '.join(GOALS)}", "goal")
    message, messages = _per_language_text(raw.get("message"), "message", fail)
    suggestions, suggestions_by_lang = _per_language_list(raw.get("suggestions"), fail)
    scope = raw.get("scope", "text")
    if scope not in SCOPES:
        fail(f"scope must be one of {', '.join(SCOPES)}", "scope")
    params = {key: value for key, value in raw.items() if key not in _COMMON_FIELDS}
    extra_params = raw.get("params") or {}
    if not isinstance(extra_params, dict):
        fail("'params' must be a mapping", "params")
    params.update(extra_params)
    rule = Rule(
        id=cast(str, rule_id),
        kind=cast(str, kind_name),
        level=level,
        goal=goal,
        message=message,
        messages=messages,
        suggestions_by_lang=suggestions_by_lang,
        languages=_string_list(raw.get("languages"), "languages", fail),
        channels=_string_list(raw.get("channels"), "channels", fail),
        scope=scope,
        params=params,
        suggestions=suggestions,
        description=str(raw.get("description", "")),
        link=str(raw.get("link", "")),
        examples=_examples(raw.get("examples"), fail),
        source=source,
        line=line,
    )
    try:
        KIND_COMPILERS[rule.kind](rule, BrandFacts())
    except KindError as exc:
        fail(exc.reason, exc.field)
    return rule


def load_pack(yaml_text: str, *, source: str) -> RulePack:
    """Load a rule pack: ``{id, version, title, rules: [...]}``.

    Raises RuleLoadError naming the rule id, the line and the reason for invalid YAML, an
    unknown kind, a missing field, a regex that could backtrack catastrophically, ...
    """
    data, node = parse_yaml_with_lines(yaml_text, source=source)
    if not isinstance(data, dict):
        raise RuleLoadError("a pack is a mapping with 'id' and 'rules'", source=source, line=1)
    pack_id = data.get("id")
    if not isinstance(pack_id, str) or not _RULE_ID_RE.match(pack_id):
        raise RuleLoadError("the pack needs an 'id'", source=source, line=1)
    raw_rules = data.get("rules")
    rules_node = _mapping_item(node, "rules")
    if not isinstance(raw_rules, list):
        line = rules_node.start_mark.line + 1 if rules_node is not None else 1
        raise RuleLoadError("'rules' must be a list", source=source, line=line)
    item_nodes: list[yaml.Node] = (
        list(rules_node.value) if isinstance(rules_node, yaml.SequenceNode) else []
    )
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        item_node = item_nodes[index] if index < len(item_nodes) else None
        line = item_node.start_mark.line + 1 if item_node is not None else None
        rule = build_rule(raw, source=source, line=line, node=item_node)
        if rule.id in seen:
            raise RuleLoadError("duplicate rule id", source=source, rule_id=rule.id, line=line)
        seen.add(rule.id)
        rules.append(rule)
    return RulePack(
        id=pack_id,
        version=str(data.get("version", "1")),
        title=str(data.get("title", pack_id)),
        rules=tuple(rules),
        source=source,
    )


@lru_cache(maxsize=1)
def load_default_packs() -> dict[str, RulePack]:
    """The packs shipped in ``services/guidelines/packs`` (standards, tone_style, legal, hr)."""
    folder = resources.files("services.guidelines").joinpath("packs")
    packs: dict[str, RulePack] = {}
    for pack_id in DEFAULT_PACK_IDS:
        resource = folder.joinpath(f"{pack_id}.yaml")
        pack = load_pack(resource.read_text(encoding="utf-8"), source=f"packs/{pack_id}.yaml")
        packs[pack.id] = pack
    return packs


def load_guideline_yaml(yaml_text: str, *, source: str = "guideline") -> GuidelineConfig:
    """Import a guideline (packs, overrides, terminology, competitors, ...) from YAML."""
    data, _node = parse_yaml_with_lines(yaml_text, source=source)
    try:
        return GuidelineConfig.model_validate(data or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise RuleLoadError(f"{where}: {error['msg']}", source=source) from exc


def export_guideline_yaml(config: GuidelineConfig) -> str:
    """Export a guideline to YAML that ``load_guideline_yaml`` reads back unchanged."""
    data = config.model_dump(mode="json", exclude_defaults=False)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def dump_pack_yaml(pack: RulePack) -> str:
    """A pack as YAML that ``load_pack`` reads back (used to store imported Vale rules as a
    guideline's custom rules)."""
    rules = []
    for rule in pack.rules:
        entry: dict[str, Any] = {
            "id": rule.id,
            "kind": rule.kind,
            "level": rule.level,
            "goal": rule.goal,
            "message": dict(rule.messages) if rule.messages else rule.message,
            "scope": rule.scope,
        }
        if rule.languages:
            entry["languages"] = list(rule.languages)
        if rule.channels:
            entry["channels"] = list(rule.channels)
        if rule.suggestions_by_lang:
            entry["suggestions"] = {k: list(v) for k, v in rule.suggestions_by_lang.items()}
        elif rule.suggestions:
            entry["suggestions"] = list(rule.suggestions)
        if rule.description:
            entry["description"] = rule.description
        if rule.link:
            entry["link"] = rule.link
        if rule.params:
            entry["params"] = rule.params
        rules.append(entry)
    data = {"id": pack.id, "version": pack.version, "title": pack.title, "rules": rules}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
