"""Ingest's rules, one module per sub-domain (no FastAPI or Kafka in any of them):

- `connections`: platform accounts, sealed secrets and their rotation, the webhook cache;
- `intake`: the REST intake (validation per item, idempotency);
- `interactions`: stored interactions, one by id or searched;
- `webhooks`: the event a verified platform webhook becomes.

The write path itself is `services/ingest/pipeline/`.
"""
