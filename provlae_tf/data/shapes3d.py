"""An embedded, procedural 3D Shapes with DeepMind's factors, order and layout.

A pinhole camera looks at one object on the floor of a room corner (floor,
back wall, side wall), ray cast with 3 x 3 supersampling, Lambertian shading
and a soft shadow. As in DeepMind's renders, the orientation turns the view:
the camera orbits the object by -30 to 30 degrees, so a cube shows other
faces and the room corner slides, while a sphere's outline stays put.

An image is the room (a function of orientation, floor hue and wall hue)
under the object and its shadow (scale, shape, orientation, object hue), a
premultiplied layer with alpha. :func:`render` and
:class:`ProceduralShapes3D` composite the same uint8 layer tables with the
same integer arithmetic, so their images are bit-identical; the class caches
the tables, so only 15 room and 480 object geometries are ever ray cast.

The parts live in modules named for what they hold:
:mod:`~provlae_tf.data.shapes3d_factors` (factor names, sizes, values and
order), :mod:`~provlae_tf.data.shapes3d_scene` (camera, room and object
geometry) and :mod:`~provlae_tf.data.shapes3d_layers` (shading, layer
tables, compositing). This module assembles them into images and files and
re-exports the factor definitions, so ``shapes3d.FACTOR_SIZES`` etc. keep
working.
"""

from __future__ import annotations

import numpy as np

from provlae_tf.data.base import ImageSource
from provlae_tf.data.shapes3d_factors import (FACTOR_NAMES, FACTOR_SIZES,
                                              H5_FILENAME, NUM_IMAGES, SIZE,
                                              SPEC, factor_values,
                                              index_from_classes,
                                              latents_classes, latents_values)
from provlae_tf.data.shapes3d_layers import (WINDOW, background_table,
                                             composite, geometry, hue_rgb,
                                             object_table)
from provlae_tf.fileio import atomic_save

__all__ = ["FACTOR_NAMES", "FACTOR_SIZES", "H5_FILENAME", "NUM_IMAGES", "SIZE",
           "ProceduralShapes3D", "factor_values", "hue_rgb",
           "index_from_classes", "latents_classes", "latents_values", "render",
           "write_h5"]


def render(classes: np.ndarray) -> np.ndarray:
    """Renders factor ``classes`` ``(n, 6)`` image by image.

    This is the definition of the images; it rebuilds the layer tables on
    every call (about 10 ms per distinct geometry). Use
    :class:`ProceduralShapes3D` for speed.

    Returns:
        uint8 ``(n, 64, 64, 3)``.
    """
    classes = np.asarray(classes, dtype=np.int64).reshape(-1, 6)
    out = np.empty((len(classes), SIZE, SIZE, 3), np.uint8)
    rooms, objects = {}, {}
    for k, (floor, wall, hue, combo, orientation) in enumerate(zip(
            *classes[:, :3].T, geometry(classes), classes[:, 5])):
        if orientation not in rooms:
            rooms[orientation] = background_table(orientation)
        if combo not in objects:
            objects[combo] = object_table(combo)
        premult, inverse = objects[combo]
        out[k] = composite(rooms[orientation][floor, wall][None].copy(),
                           premult[hue][None], inverse[None])[0]
    return out


# Reference: docs/original.md#embedded-datasets
class ProceduralShapes3D(ImageSource):
    """3D Shapes rendered on demand, identical to :func:`render`.

    Layer tables are built lazily on first use: 18 MB of rooms and 53 MB of
    object layers when all are built (about 4 s of ray casting in all).
    """

    name = "3dshapes"
    image_shape = (SIZE, SIZE, 3)
    max_value = 255

    def __init__(self):
        h, w = WINDOW
        self._rooms = np.zeros((15, 10, 10, SIZE, SIZE, 3), np.uint8)
        self._premult = np.zeros((480, 10, h, w, 3), np.uint16)
        self._inverse = np.zeros((480, h, w, 3), np.uint16)
        self._rooms_built = np.zeros(15, bool)
        self._objects_built = np.zeros(480, bool)

    @property
    def num_examples(self) -> int:
        return NUM_IMAGES

    def latents_classes(self, indices: np.ndarray) -> np.ndarray:
        """Factor classes ``(n, 6)`` int64 of ``indices``."""
        return latents_classes(indices)

    def latents_values(self, indices: np.ndarray) -> np.ndarray:
        """Factor values ``(n, 6)`` float64 of ``indices``."""
        return latents_values(latents_classes(indices))

    def images(self, indices: np.ndarray) -> np.ndarray:
        """Images at ``indices`` as uint8 ``(n, 64, 64, 3)``."""
        classes = latents_classes(indices)
        orientation, combos = classes[:, 5], geometry(classes)
        for o in np.unique(orientation[~self._rooms_built[orientation]]):
            self._rooms[o] = background_table(o)
            self._rooms_built[o] = True
        for c in np.unique(combos[~self._objects_built[combos]]):
            self._premult[c], self._inverse[c] = object_table(c)
            self._objects_built[c] = True
        rooms = self._rooms[orientation, classes[:, 0], classes[:, 1]]
        return composite(rooms, self._premult[combos, classes[:, 2]],
                         self._inverse[combos])


def write_h5(path: str, indices: np.ndarray | None = None,
             chunk: int = 8192) -> None:
    """Writes DeepMind's HDF5 layout (``images``, ``labels``) with h5py.

    The file appears atomically: it is written to a temporary file in the
    same directory and renamed. Images are rendered and written chunk by
    chunk, so memory stays near 300 MB at the default chunk.

    Args:
        path: destination, e.g. ``data_dir/H5_FILENAME``.
        indices: a subset to write (for tests); default all images in order.
        chunk: images rendered at a time.
    """
    import h5py  # Optional: only needed to write this file format.
    if indices is None:
        indices = np.arange(NUM_IMAGES)
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    source = ProceduralShapes3D()

    def save(temp: str) -> None:
        with h5py.File(temp, "w") as f:
            images = f.create_dataset("images", (len(indices), SIZE, SIZE, 3),
                                      np.uint8)
            f.create_dataset("labels", data=source.latents_values(indices))
            for start in range(0, len(indices), chunk):
                images[start:start + chunk] = source.images(
                    indices[start:start + chunk])

    atomic_save(path, save)


def load(data_dir: str, log=print) -> ImageSource:
    """The dataset's images: its file under ``data_dir``, else embedded."""
    from provlae_tf.data import shapes3d_h5
    from provlae_tf.data.base import file_or_embedded
    return file_or_embedded(SPEC, data_dir, shapes3d_h5.load_shapes3d_h5,
                            ProceduralShapes3D, log)
