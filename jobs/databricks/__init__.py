"""Databricks side: bundle preflight, GPU sizing per node type, notebook widgets."""
