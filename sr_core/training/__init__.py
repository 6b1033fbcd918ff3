"""Training: ``train_model`` (SRCNN, SRResNet, SRGAN), checkpoints, curves and schedules."""

from sr_core.export import ExportResult
from sr_core.training.api import train_model
from sr_core.training.checkpoints import NonFiniteLossError

__all__ = ["ExportResult", "NonFiniteLossError", "train_model"]
