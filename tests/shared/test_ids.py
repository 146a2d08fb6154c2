"""Pooled random ids: valid version-4 UUIDs, unique, and never shared with a forked child."""

from __future__ import annotations

import os
import uuid

from shared.ids import random_hex, random_uuid


def test_random_uuids_are_canonical_version_4() -> None:
    for _ in range(2000):  # past several refills of the pool
        text = random_uuid()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_ids_do_not_repeat() -> None:
    ids = {random_uuid() for _ in range(100_000)} | {random_hex() for _ in range(100_000)}
    assert len(ids) == 200_000
    assert all(len(value) in (32, 36) for value in ids)


def test_a_forked_child_draws_its_own_ids() -> None:
    random_uuid()  # the parent's pool holds unused ids now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the next id, then leave without running pytest's exit
        os.write(write, random_uuid().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert uuid.UUID(child).version == 4
    assert child != random_uuid()
