"""Rule kinds. Importing this package registers every kind in ``KIND_COMPILERS``."""

from . import channel, tone, vale
from .base import KIND_COMPILERS, BrandFacts, Checker, Hit, KindError, PhraseSpec

__all__ = [
    "KIND_COMPILERS",
    "BrandFacts",
    "Checker",
    "Hit",
    "KindError",
    "PhraseSpec",
    "channel",
    "tone",
    "vale",
]
