"""The linear model: a vocabulary of features, one weight per feature and intent, a bias.

Stored in `model.npz` (numpy arrays, no pickle): `features` (the vocabulary, newline-joined
UTF-8), `weights` (float16, features × intents), `bias`, `intents`, and `meta` (JSON: how it
was trained). `scripts/train_intents.py` writes it; scoring is a dict look-up per feature and
one numpy sum.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .definitions import Intent
from .features import Features, char_ngrams, text_weight

MODEL_PATH: Final = Path(__file__).resolve().parent / "model.npz"


TOKEN_CACHE_SIZE: Final = 200_000


@dataclass(frozen=True)
class IntentModel:
    intents: tuple[Intent, ...]
    vocabulary: dict[str, int]
    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    meta: dict[str, Any]
    # token → (rows of its word and character features in the vocabulary, how many it has)
    _token_rows: dict[str, tuple[tuple[int, ...], int]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def _rows_of(self, token: str) -> tuple[tuple[int, ...], int]:
        cached = self._token_rows.get(token)
        if cached is None:
            names = [f"w:{token}", *char_ngrams(token)]
            lookup = self.vocabulary.get
            rows = tuple(row for row in map(lookup, names) if row is not None)
            cached = (rows, len(names))
            if len(self._token_rows) >= TOKEN_CACHE_SIZE:
                self._token_rows.clear()  # bounded; words repeat, so it refills with the common
            self._token_rows[token] = cached
        return cached

    def score_tokens(self, tokens: list[str], cues: list[str]) -> list[float]:
        """The same probabilities as `scores(extract(...))`, with each word's features looked
        up once per process instead of once per post."""
        lookup = self.vocabulary.get
        text_rows: list[int] = []
        count = max(len(tokens) - 1, 0)
        for token in tokens:
            rows, contributed = self._rows_of(token)
            text_rows.extend(rows)
            count += contributed
        for left, right in zip(tokens, tokens[1:], strict=False):
            row = lookup(f"b:{left} {right}")
            if row is not None:
                text_rows.append(row)
        cue_rows = [row for row in map(lookup, cues) if row is not None]
        return self._softmax(text_rows, text_weight(count), cue_rows)

    def scores(self, features: Features) -> list[float]:
        """Softmax probabilities over `intents`."""
        lookup = self.vocabulary.get
        text_rows = [row for row in map(lookup, features.text) if row is not None]
        cue_rows = [row for row in map(lookup, features.cues) if row is not None]
        return self._softmax(text_rows, features.text_weight, cue_rows)

    def _softmax(self, text_rows: list[int], weight: float, cue_rows: list[int]) -> list[float]:
        logits = self.bias
        # take() on a list of rows is about twice as fast as fancy indexing with it.
        if text_rows:
            logits = logits + self.weights.take(text_rows, axis=0).sum(axis=0) * weight
        if cue_rows:
            logits = logits + self.weights.take(cue_rows, axis=0).sum(axis=0)
        # Fourteen numbers: plain Python is cheaper than more numpy calls.
        values: list[float] = logits.tolist()
        top = max(values)
        exps = [math.exp(value - top) for value in values]
        total = sum(exps)
        return [value / total for value in exps]

    def save(self, path: Path) -> None:
        ordered = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        np.savez_compressed(
            path,
            features=np.frombuffer("\n".join(ordered).encode("utf-8"), dtype=np.uint8),
            weights=self.weights.astype(np.float16),
            bias=self.bias.astype(np.float32),
            intents=np.array([intent.value for intent in self.intents]),
            meta=np.array(json.dumps(self.meta, sort_keys=True)),
        )


def load_model(path: Path = MODEL_PATH) -> IntentModel:
    with np.load(path, allow_pickle=False) as data:
        names = bytes(data["features"]).decode("utf-8").split("\n")
        return IntentModel(
            intents=tuple(Intent(str(value)) for value in data["intents"]),
            vocabulary={name: index for index, name in enumerate(names)},
            weights=data["weights"].astype(np.float32),
            bias=data["bias"].astype(np.float32),
            meta=json.loads(str(data["meta"])),
        )
