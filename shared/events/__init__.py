"""Event contracts: CloudEvents envelope, topics and the registry of typed payloads."""
