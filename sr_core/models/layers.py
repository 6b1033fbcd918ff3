"""Custom Keras layers of srbench's models, registered so that safe-mode loading can rebuild them.

No ``Lambda`` layers anywhere: every operation that Keras has no layer for lives here, with its
configuration in ``get_config`` so a saved ``.keras`` file holds only JSON and weights.
"""

from __future__ import annotations

import numpy as np
import keras
import tensorflow as tf

from sr_core.resize import cubic

PACKAGE = "srbench"


def bicubic_phase_weights(scale: int) -> np.ndarray:
    """Weights (5 taps x ``scale`` phases) of MATLAB's ``imresize(x, scale, 'bicubic')`` upsampling.

    Output pixel ``o = scale * i + p`` (0-based) is centred at input coordinate ``i + d_p`` with
    ``d_p = (p + 0.5) / scale - 0.5`` (half-pixel centres), and takes input pixels ``i - 2 .. i + 2``
    with weights ``cubic(d_p - k)``. Upsampling never widens the kernel, so the weights are the same
    for every interior pixel and the resize is a fixed convolution per phase.
    """
    offsets = np.arange(-2, 3, dtype=np.float64)
    phases = (np.arange(scale, dtype=np.float64) + 0.5) / scale - 0.5
    weights = cubic(phases[None, :] - offsets[:, None])
    return weights / weights.sum(axis=0, keepdims=True)


@keras.saving.register_keras_serializable(package=PACKAGE)
class BicubicUpsample(keras.layers.Layer):
    """Integer-factor bicubic upsampling equal to MATLAB's ``imresize`` on float input.

    Implemented as two separable fixed convolutions with symmetric border padding (MATLAB's), so it
    needs no resize op (XLA-friendly), keeps dynamic spatial dims, and matches
    ``sr_core.resize.upscale`` except that MATLAB rounds to uint8 after each pass on uint8 images.
    Always computes in float32. Inputs need at least 2 pixels per side.
    """

    def __init__(self, scale: int, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.scale = int(scale)
        weights = bicubic_phase_weights(self.scale).astype(np.float32)
        self._kernel_h = tf.constant(weights[:, None, None, :])  # (5, 1, in=1, out=scale)
        self._kernel_w = tf.constant(weights[None, :, None, :])  # (1, 5, 1, scale)

    def call(self, inputs):
        s = self.scale
        x = tf.cast(inputs, tf.float32)
        shape = tf.shape(x)
        n, h, w, c = shape[0], shape[1], shape[2], shape[3]
        # Channels into the batch so one single-channel kernel serves every channel.
        x = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w, 1])
        x = tf.pad(x, [[0, 0], [2, 2], [0, 0], [0, 0]], mode="SYMMETRIC")
        x = tf.nn.conv2d(x, self._kernel_h, strides=1, padding="VALID")  # (nc, h, w, s)
        x = tf.reshape(tf.transpose(x, [0, 1, 3, 2]), [n * c, h * s, w, 1])
        x = tf.pad(x, [[0, 0], [0, 0], [2, 2], [0, 0]], mode="SYMMETRIC")
        x = tf.nn.conv2d(x, self._kernel_w, strides=1, padding="VALID")  # (nc, h*s, w, s)
        x = tf.reshape(x, [n, c, h * s, w * s])
        return tf.transpose(x, [0, 2, 3, 1])

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h * self.scale, None if w is None else w * self.scale, c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DepthToSpace(keras.layers.Layer):
    """The sub-pixel convolution's "pixel shuffler": (h, w, c*b*b) -> (h*b, w*b, c)."""

    def __init__(self, block_size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        b = self.block_size
        return (n, None if h is None else h * b, None if w is None else w * b,
                None if c is None else c // (b * b))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ClipPixels(keras.layers.Layer):
    """Clips to the 0..255 pixel range at inference only, so training gradients are never cut off."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, inputs, training=None):
        x = tf.cast(inputs, tf.float32)
        if training:
            return x
        return tf.clip_by_value(x, 0.0, 255.0)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpatialMean(keras.layers.Layer):
    """Mean over the spatial positions: (N, h, w, c) -> (N, c), for any h, w. Float32 output."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, inputs):
        return tf.reduce_mean(tf.cast(inputs, tf.float32), axis=[1, 2])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[3])


CUSTOM_OBJECTS = {cls.__name__: cls for cls in (BicubicUpsample, DepthToSpace, ClipPixels, SpatialMean)}
