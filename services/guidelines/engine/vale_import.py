"""Import a Vale style folder (one ``.yml`` rule per file) as a RulePack.

Only the kinds Vale and this engine share are imported: existence, substitution, occurrence,
repetition, consistency, conditional, capitalization, metric. Other rules (spelling,
sequence, script, ...) are listed in ``RulePack.skipped`` with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import RuleLoadError
from .loader import build_rule, parse_yaml_with_lines
from .models import Rule, RulePack

VALE_KINDS = frozenset(
    {
        "existence",
        "substitution",
        "occurrence",
        "repetition",
        "consistency",
        "conditional",
        "capitalization",
        "metric",
    }
)
_VALE_SCOPES = {
    "sentence": "sentence",
    "paragraph": "paragraph",
    "heading": "heading",
    "text": "text",
    "raw": "raw",
    "list": "list",
    "summary": "text",
}


def _vale_scope(value: Any) -> str:
    first = value[0] if isinstance(value, list) and value else value
    if not isinstance(first, str):
        return "text"
    return _VALE_SCOPES.get(first.split(".")[0].lstrip("~"), "text")


def import_vale_style(path: str | Path) -> RulePack:
    """Read every ``*.yml`` rule of a Vale style folder; the folder name is the style name.

    Rule ids are ``<Style>.<FileStem>`` as in Vale. Raises RuleLoadError (naming the file and
    line) for a rule this engine cannot load.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise RuleLoadError("not a directory", source=str(folder))
    style = folder.name
    rules: list[Rule] = []
    skipped: list[str] = []
    for file in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        source = str(file)
        data, node = parse_yaml_with_lines(file.read_text(encoding="utf-8"), source=source)
        if not isinstance(data, dict):
            raise RuleLoadError("a Vale rule is a mapping", source=source, line=1)
        extends = data.get("extends")
        if extends not in VALE_KINDS:
            skipped.append(f"{style}.{file.stem}: unsupported Vale kind {extends!r}")
            continue
        raw = dict(data)
        raw["id"] = f"{style}.{file.stem}"
        raw["kind"] = raw.pop("extends")
        raw.setdefault("level", "suggestion")  # Vale's default level
        raw["level"] = {"info": "suggestion"}.get(raw["level"], raw["level"])
        raw.setdefault("ignorecase", False)  # Vale's default, ours is true
        raw.setdefault("goal", "style")
        raw["scope"] = _vale_scope(raw.get("scope", "text"))
        rules.append(build_rule(raw, source=source, line=1, node=node))
    return RulePack(
        id=style,
        version="vale",
        title=f"Vale style {style}",
        rules=tuple(rules),
        source=str(folder),
        skipped=tuple(skipped),
    )
