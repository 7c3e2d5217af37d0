"""ingest tier."""
