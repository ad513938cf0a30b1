"""TensorBoard image summaries written with core TensorFlow only.

TensorBoard's images plugin reads a summary whose metadata names the plugin
``"images"`` and whose tensor is a rank-1 string tensor
``[width, height, png_0, png_1, ...]`` (width and height as decimal
strings). Writing that layout with ``tf.summary.write`` keeps the
``tensorboard`` package out of our dependencies.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2
from tensorflow.core.util import event_pb2

from provlae_tf.viz import images as images_lib

PLUGIN_NAME = "images"
_IMAGE_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(
        plugin_name=PLUGIN_NAME))


def image_tensor(image: np.ndarray) -> tf.Tensor:
    """The images plugin's tensor for one float image ``(H, W, C)``.

    Values are clipped to [0, 1]; C is 1 (grey) or 3 (colour).
    """
    pixels = images_lib.to_uint8(image)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    height, width = pixels.shape[:2]
    png = tf.io.encode_png(tf.constant(pixels, tf.uint8))
    return tf.stack([tf.constant(str(width)), tf.constant(str(height)), png])


def write_image(tag: str, image: np.ndarray, step: int) -> bool:
    """Writes one image to the default summary writer.

    Args:
        tag: the summary tag, e.g. ``"stage_end/traversal"``.
        image: float ``(H, W, C)``, clipped to [0, 1].
        step: the global step.

    Returns:
        False when no default summary writer is set (nothing written).
    """
    written = tf.summary.write(tag, image_tensor(image), step=step,
                               metadata=_IMAGE_METADATA)
    return bool(written)


def read_events(event_file: str):
    """Yields every ``Event`` of one event file (as the deprecated
    ``summary_iterator`` does, without its notice on every stage end)."""
    for record in tf.data.TFRecordDataset(event_file):
        yield event_pb2.Event.FromString(record.numpy())


def read_images(event_file: str, tag: str) -> list:
    """``[(step, uint8 (H, W, C) image)]`` for ``tag`` in one event file.

    The inverse of :func:`write_image`, for tests and quick inspection.
    """
    found = []
    for event in read_events(event_file):
        for value in event.summary.value:
            if value.tag != tag:
                continue
            parts = tf.make_ndarray(value.tensor)
            for png in parts[2:]:
                found.append((event.step, tf.io.decode_png(png).numpy()))
    return found
