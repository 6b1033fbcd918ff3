"""Training: ``train_model`` (SRCNN, SRResNet, SRGAN), checkpoints, curves and schedules."""

from sr_core.export import ExportResult
from sr_core.training.checkpoints import NonFiniteLossError

__all__ = ["ExportResult", "NonFiniteLossError", "train_model"]


def __getattr__(name: str):
    # train_model imports TensorFlow: loaded on first use, so that importing the TensorFlow-free
    # sr_core.training.checkpoints (loss guard, training lock) does not load it.
    if name == "train_model":
        from sr_core.training.api import train_model

        return train_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
