"""One module per bench group (ingest, storage, tracing, api); each returns rows and checks."""
