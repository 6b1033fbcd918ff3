"""Silence TensorFlow's and absl's console noise unless the user asked for it (``--verbose``)."""

from __future__ import annotations

import logging
import os
import warnings


def configure_noise(verbose: bool = False) -> None:
    """Call before TensorFlow is imported; safe to call again afterwards."""
    if verbose:
        os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
        logging.getLogger("tensorflow").setLevel(logging.INFO)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(tensorflow|keras|tensorflow_datasets).*")
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(tensorflow|keras|tensorflow_datasets).*")
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # absl arrives with TensorFlow
        pass
