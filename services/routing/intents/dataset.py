"""The labelled set the project ships (`data/{lang}.{split}.txt`) and exported corrections.

Each line of a shipped file is `<intent> <channel> <hard 0|1> | <text>`; `#` starts a comment.
The test split is held out: nothing (rules, weights, hyper-parameters) is tuned on it.
Corrections exported by `GET /v1/intents/examples` come as JSON lines or CSV with at least
`text`, `intent` and `lang`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .definitions import Intent

DATA_DIR: Final = Path(__file__).resolve().parent / "data"
LANGUAGES: Final = ("es", "en")
SPLITS: Final = ("train", "test")


@dataclass(frozen=True, slots=True)
class LabelledPost:
    text: str
    intent: Intent
    lang: str
    channel: str = "other"
    hard: bool = False


class DatasetError(ValueError):
    """A labelled file that cannot be read (with the line that is wrong)."""


def load_split(lang: str, split: str, data_dir: Path = DATA_DIR) -> list[LabelledPost]:
    path = data_dir / f"{lang}.{split}.txt"
    posts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        head, separator, text = line.partition(" | ")
        fields = head.split()
        if not separator or len(fields) != 3 or not text.strip():
            raise DatasetError(f"{path.name}:{number}: expected '<intent> <channel> <hard> | text'")
        try:
            intent = Intent(fields[0])
        except ValueError as exc:
            raise DatasetError(f"{path.name}:{number}: unknown intent {fields[0]!r}") from exc
        posts.append(LabelledPost(text.strip(), intent, lang, fields[1], fields[2] == "1"))
    return posts


def load_shipped(split: str, data_dir: Path = DATA_DIR) -> list[LabelledPost]:
    return [post for lang in LANGUAGES for post in load_split(lang, split, data_dir)]


def parse_examples(content: str) -> list[LabelledPost]:
    """Exported corrections (JSON lines, or CSV with a header) as labelled posts."""
    stripped = content.lstrip()
    if not stripped:
        return []
    if stripped.startswith("{"):
        rows = [json.loads(line) for line in stripped.splitlines() if line.strip()]
    else:
        rows = list(csv.DictReader(io.StringIO(stripped)))
    posts = []
    for number, row in enumerate(rows, start=1):
        try:
            intent = Intent(row["intent"])
            text, lang = str(row["text"]), str(row.get("lang") or "und")
        except (KeyError, ValueError) as exc:
            raise DatasetError(f"example {number}: needs text and a known intent") from exc
        posts.append(LabelledPost(text, intent, lang, str(row.get("channel") or "other")))
    return posts
