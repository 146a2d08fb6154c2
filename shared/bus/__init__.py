"""The Kafka bus: idempotent producer, at-least-once consumer runner, transactional outbox."""
