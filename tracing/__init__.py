"""tracing tier."""
