"""Ingest service: receives platform webhooks and normalises them into Interactions."""
