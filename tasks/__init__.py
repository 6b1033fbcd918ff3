"""Thin Prefect ``@task`` wrappers over ``sr_core``: they pass paths and small dicts, never arrays."""
