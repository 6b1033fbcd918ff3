"""Which accelerators this process can use, and the stop for GPU presets on a machine without one.

A misconfigured GPU worker (no driver, wrong image, ``CUDA_VISIBLE_DEVICES=""``) would otherwise
train the ``div2k`` preset on CPU for days. :func:`require_gpu` fails in seconds instead, before any
data is prepared; ``--allow-cpu`` (or ``--set require_gpu=false``) overrides it on purpose.
"""

from __future__ import annotations

from sr_core.config import PipelineConfig


class NoGPUError(RuntimeError):
    """The config needs a GPU and TensorFlow sees none."""


def visible_gpus() -> list[str]:
    """Names of the GPUs TensorFlow can use (imports TensorFlow)."""
    import tensorflow as tf

    names = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except (ValueError, RuntimeError):
            details = {}
        names.append(str(details.get("device_name") or device.name))
    return names


def devices_used() -> list[str]:
    """What the run computes on: the GPUs' names, or ``["cpu"]`` when TensorFlow sees none."""
    return visible_gpus() or ["cpu"]


def require_gpu(cfg: PipelineConfig) -> list[str]:
    """The visible GPUs; raises :class:`NoGPUError` when ``cfg.require_gpu`` and there are none."""
    gpus = visible_gpus() if cfg.require_gpu else []
    if cfg.require_gpu and not gpus:
        raise NoGPUError(
            f"the {cfg.preset} preset needs a GPU and TensorFlow sees none on this machine (check the "
            "NVIDIA driver, the worker image (tensorflow[and-cuda] / the GPU Dockerfile), the Docker "
            "device request and CUDA_VISIBLE_DEVICES); on purpose on CPU: --allow-cpu or "
            "--set require_gpu=false")
    return gpus
