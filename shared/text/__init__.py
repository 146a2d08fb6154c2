"""Text of social posts: normalisation, tokens and language detection (ingest and guidelines)."""
