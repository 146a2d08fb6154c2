"""`Content-Disposition` for file downloads (exports, CSV reports), per RFC 6266 / RFC 8187.

A file name built from a client's value (a brand id) may hold any character; a header holds
only Latin-1 and must not carry quotes or line breaks. The plain `filename` is an ASCII-safe
copy, `filename*` the exact name, percent-encoded UTF-8, which browsers and clients prefer.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def attachment(filename: str) -> str:
    safe = _UNSAFE.sub("_", filename) or "download"
    if safe == filename:
        return f'attachment; filename="{safe}"'
    return f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(filename, safe='')}"
