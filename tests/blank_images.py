"""An image source whose images are never looked at (the metrics use indices)."""

import numpy as np

from provlae_tf.data.base import ImageSource


class BlankImages(ImageSource):
    """``n`` all-zero 64 x 64 images."""

    name, image_shape, max_value = "blank", (64, 64, 1), 1

    def __init__(self, n):
        self.n = n

    @property
    def num_examples(self):
        return self.n

    def images(self, indices):
        return np.zeros((len(indices), *self.image_shape), np.uint8)
