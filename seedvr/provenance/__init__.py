"""Provenance inside the restored file: a signed C2PA manifest (embedded, or a `.c2pa` sidecar for
containers C2PA cannot hold), plain container tags for players that ignore C2PA, and verification.

A restoration is a derivative a generative model has changed; the file itself says so, which model,
which run and which source, so that the statement survives the file being copied out of the lakehouse.
Pure of Spark, Delta and MLflow: the job passes facts in, `seedvr-verify` reads them back.
"""
