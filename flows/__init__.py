"""Prefect flows of srbench: ``nightly`` (the whole pipeline) and the stage flows in ``stages``.

Importing this package does not import Prefect, so ``srbench run`` can point Prefect at a
project-local ``PREFECT_HOME`` first (see ``flows.environment``).
"""
