"""What the webhooks lifespan builds, reached through `dependencies.webhooks_state`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.webhooks.delivery.directory import EndpointDirectory
from services.webhooks.delivery.dispatcher import Dispatcher
from services.webhooks.delivery.sender import Sender
from services.webhooks.signing import SecretBox
from services.webhooks.ssrf import Resolver


@dataclass
class WebhooksState:
    box: SecretBox
    resolver: Resolver
    sender: Sender
    directory: EndpointDirectory
    dispatcher: Dispatcher | None = None
    dispatch_task: asyncio.Task[None] | None = None
