"""srbench's networks: every model maps 0..255 float pixels in to 0..255 pixels out (or logits).

Importing this package imports TensorFlow and registers the custom layers for safe-mode loading.
"""

from sr_core.catalog import model_spec
from sr_core.models.discriminator import build_discriminator
from sr_core.models.layers import CUSTOM_OBJECTS
from sr_core.models.srcnn import build_srcnn
from sr_core.models.srresnet import build_srresnet

__all__ = ["CUSTOM_OBJECTS", "build_discriminator", "build_generator", "build_srcnn", "build_srresnet"]


def build_generator(cfg, name: str, *, dtype_policy: str | None = None):
    """The generator of catalogue model ``name`` for a PipelineConfig."""
    return model_spec(name).build(cfg, dtype_policy=dtype_policy)
