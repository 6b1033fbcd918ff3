"""srbench's library: data, degradation, models, training, metrics and reports.

Pure functions and Keras models with no Prefect import, usable from a notebook. TensorFlow is imported
lazily by the modules that need it, so e.g. ``sr_core.metrics`` and ``sr_core.resize`` load without it.
"""

__version__ = "0.1.0"
