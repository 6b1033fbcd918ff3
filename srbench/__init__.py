"""The ``srbench`` command line; the library is ``sr_core``, the pipeline is ``flows``/``tasks``."""
