"""Random version-4 UUIDs for event and request ids, cheaper than `uuid.uuid4()`.

Every webhook takes two ids (its request id and its event id); `str(uuid.uuid4())` costs a
system call and a UUID object each. Here the randomness comes from the same source
(`os.urandom`) a page at a time, and the text is cut from its hex. The pool is dropped in a
forked child so two processes never hand out the same ids.
"""

from __future__ import annotations

import os

_POOL_BYTES = 4096
_VARIANT = "89ab"


class _HexPool:
    __slots__ = ("_hex", "_at")

    def __init__(self) -> None:
        self._hex = ""
        self._at = 0

    def take(self) -> str:
        """32 random hex digits."""
        at = self._at
        if at >= len(self._hex):
            self._hex = os.urandom(_POOL_BYTES).hex()
            at = 0
        self._at = at + 32
        return self._hex[at : at + 32]

    def reset(self) -> None:
        self._hex = ""
        self._at = 0


_pool = _HexPool()
os.register_at_fork(after_in_child=_pool.reset)


def random_hex() -> str:
    """32 random hex digits (128 bits), e.g. for request ids."""
    return _pool.take()


def random_uuid() -> str:
    """A random (version 4, RFC 9562 variant) UUID in its canonical text form."""
    digits = _pool.take()
    return (
        f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-"
        f"{_VARIANT[int(digits[16], 16) & 3]}{digits[17:20]}-{digits[20:]}"
    )
