"""The linear model: a vocabulary of features, one weight per feature and intent, a bias.

Stored in `model.npz` (numpy arrays, no pickle): `features` (the vocabulary, newline-joined
UTF-8), `weights` (float16, features × intents), `bias`, `intents`, and `meta` (JSON: how it
was trained). `scripts/train_intents.py` writes it; scoring is a dict look-up per feature and
one numpy sum.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .definitions import Intent
from .features import Features

MODEL_PATH: Final = Path(__file__).resolve().parent / "model.npz"


@dataclass(frozen=True)
class IntentModel:
    intents: tuple[Intent, ...]
    vocabulary: dict[str, int]
    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    meta: dict[str, Any]

    def scores(self, features: Features) -> npt.NDArray[np.float64]:
        """Softmax probabilities over `intents`."""
        lookup = self.vocabulary.get
        text_rows = [row for row in map(lookup, features.text) if row is not None]
        cue_rows = [row for row in map(lookup, features.cues) if row is not None]
        logits = self.bias.astype(np.float64)
        if text_rows:
            logits = logits + self.weights[text_rows].sum(axis=0) * features.text_weight
        if cue_rows:
            logits = logits + self.weights[cue_rows].sum(axis=0)
        logits = logits - logits.max()
        exp = np.exp(logits)
        result: npt.NDArray[np.float64] = exp / exp.sum()
        return result

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
