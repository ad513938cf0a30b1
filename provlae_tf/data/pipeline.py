"""The training input pipeline: drop-remainder batches of uint8 images in an
epoch's order (:func:`provlae_tf.random_streams.epoch_order`), prefetched."""

from __future__ import annotations

import os
import re
from typing import Iterator

import numpy as np
import tensorflow as tf

from provlae_tf.data.base import ImageSource
from provlae_tf.errors import UserError


# Batches loaded at once, and loaded ahead of the training step.
LOAD_WORKERS = min(4, os.cpu_count() or 1)
PREFETCH_BATCHES = 2


# Reference: docs/original.md#data-order
def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Full batches per epoch (the remainder is dropped, as in the original).

    Raises:
        UserError: the batch is larger than the dataset (no step at all).
    """
    if batch_size > num_examples:
        raise UserError(f"--batch_size={batch_size}: expected at most the "
                        f"dataset's {num_examples} images.")
    return num_examples // batch_size


# Reference: docs/original.md#data-order
def batches(source: ImageSource, order: np.ndarray, batch_size: int,
            first_step: int = 0) -> tf.data.Dataset:
    """uint8 batches ``(batch, H, W, C)`` following ``order`` from ``first_step``.

    Images are gathered (or rendered) per batch on parallel workers in a
    deterministic order, and prefetched so the training step never waits.
    The parallelism and the prefetch depth are fixed, with tf.data's
    autotuning off: autotuning measured nothing useful here (a batch is
    loaded far faster than it is trained on) and its end-of-sequence made
    the last ``next()`` of an epoch wait 0.5-5 s on a 2-core machine.
    """
    steps = steps_per_epoch(len(order), batch_size)
    indices = order[first_step * batch_size: steps * batch_size]
    shape = [batch_size, *source.image_shape]

    def load(batch_indices):
        images = tf.numpy_function(source.images, [batch_indices], tf.uint8,
                                   stateful=False)
        return tf.ensure_shape(images, shape)

    options = tf.data.Options()
    options.autotune.enabled = False
    return (tf.data.Dataset.from_tensor_slices(indices)
            .batch(batch_size, drop_remainder=True)
            .map(load, num_parallel_calls=LOAD_WORKERS, deterministic=True)
            .prefetch(PREFETCH_BATCHES)
            .with_options(options))


def iterate(dataset: tf.data.Dataset) -> Iterator[tf.Tensor]:
    """Iterates ``dataset``, turning a loader's UserError raised inside the
    pipeline (e.g. a corrupt image) back into that one clear UserError."""
    iterator = iter(dataset)
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except tf.errors.OpError as e:
            found = re.search(r"UserError: (.*)", str(e))
            if found is None:
                raise
            raise UserError(found.group(1).strip()) from None
