"""One webhooks replica in a process of its own, for tests that kill it (SIGKILL: no
shutdown, no group leave, claims left as they are).

    python -m tests.webhooks.replica PORT DATABASE BOOTSTRAP '{"consumer_group": ..., ...}'

Its settings are the tests' (`tests.webhooks.conftest.test_settings`) with these values.
"""

from __future__ import annotations

import json
import sys

import uvicorn

from services.webhooks.main import create_app
from tests.webhooks.conftest import test_settings


def main() -> None:
    port, database, bootstrap, values = sys.argv[1:5]
    app = create_app(test_settings(database, bootstrap, **json.loads(values)))
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
