"""Prefect tasks: retries, caching, names, logs and artifacts around one call into the vectorsync library."""
