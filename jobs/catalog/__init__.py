"""The catalog: register videos under a folder or bucket prefix (`seedvr-ingest`)."""
