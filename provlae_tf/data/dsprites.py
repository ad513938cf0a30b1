"""An embedded, procedural dSprites with DeepMind's factors, order and layout.

The images are defined by :func:`render`: a pixel is 1 when its centre lies
inside the rotated, scaled and translated square, ellipse or heart. All
coordinates live on a lattice of 1/8 pixel (pixel centres and sprite centres
are multiples of 1/8), so a sprite's mask depends only on
(shape, scale, orientation) and the sub-pixel phase of its centre.
:class:`ProceduralDSprites` exploits that: it evaluates each
(shape, scale, orientation) once on the fine lattice and pastes the matching
phase of that template, giving bit-identical images far faster.
"""

from __future__ import annotations

import numpy as np

from provlae_tf import factor_grid
from provlae_tf.data.base import ImageSource
from provlae_tf.datasets import DATASETS, IMAGE_SIZE as SIZE
from provlae_tf.fileio import atomic_save

# The dataset's facts live in the registry (provlae_tf.datasets).
SPEC = DATASETS["dsprites"]
FACTOR_NAMES, FACTOR_SIZES = SPEC.factor_names, SPEC.factor_sizes
NUM_IMAGES = SPEC.grid_images
NPZ_FILENAME = SPEC.file

_SUB = 8  # Lattice points per pixel.
# Sprite centres in 1/8 px: 14.5 px + k * 1.125 px, k = 0..31, i.e. 14.5 to
# 49.375 px. The largest sprite reaches 13.44 px from its centre, so even at
# the extreme positions the border rows and columns stay empty.
_POS_START = 116
_POS_STEP = 9
# Sprite sizes in pixels at scale 1.
_SQUARE_HALF = 9.5  # A 19 px square.
_ELLIPSE_AXES = (13.0, 6.5)  # Semi-axes: 26 x 13 px, 2:1 as in dSprites.
_HEART_UNIT = 10.0  # Pixels per unit of the implicit heart curve.
_HEART_SHIFT = 0.118  # Centres the heart's bounding box (y in [-1, 1.236]).
_HALF_PATCH = 16  # Templates cover +-16 px around the centre.
_PATCH = 2 * _HALF_PATCH


def factor_values() -> tuple[np.ndarray, ...]:
    """The value of every class of every factor, in ``FACTOR_NAMES`` order."""
    return (np.ones(1), np.array([1.0, 2.0, 3.0]), np.linspace(0.5, 1, 6),
            np.linspace(0, 2 * np.pi, 40), np.linspace(0, 1, 32),
            np.linspace(0, 1, 32))


def latents_classes(indices: np.ndarray) -> np.ndarray:
    """Factor classes ``(n, 6)`` int64 of dataset ``indices`` (C order)."""
    return factor_grid.classes_of(indices, FACTOR_SIZES)


def latents_values(classes: np.ndarray) -> np.ndarray:
    """Factor values ``(n, 6)`` float64 of factor ``classes`` ``(n, 6)``."""
    return factor_grid.values_of(classes, factor_values())


def index_from_classes(classes: np.ndarray) -> np.ndarray:
    """Dataset indices ``(n,)`` int64 of factor ``classes`` ``(n, 6)``."""
    return factor_grid.indices_of(classes, FACTOR_SIZES)


def _inside(shape: int, scale, cos, sin, mx, my) -> np.ndarray:
    """Whether lattice offsets ``(mx, my)`` (1/8 px, y down) are inside.

    ``scale``, ``cos`` and ``sin`` broadcast against ``mx`` and ``my``. Both
    :func:`render` and the templates call this on the same integer offsets,
    so the elementwise float operations, and hence the results, are equal.
    """
    x = mx / _SUB
    y = -(my / _SUB)  # Math convention (y up): rotations are anticlockwise.
    u = (cos * x + sin * y) / scale  # Rotate back by the orientation angle.
    v = (cos * y - sin * x) / scale
    if shape == 0:
        return np.maximum(np.abs(u), np.abs(v)) <= _SQUARE_HALF
    if shape == 1:
        a, b = _ELLIPSE_AXES
        return (u / a) * (u / a) + (v / b) * (v / b) <= 1.0
    hu = u / _HEART_UNIT
    hv = v / _HEART_UNIT + _HEART_SHIFT
    r = hu * hu + hv * hv - 1.0
    return r * r * r - hu * hu * hv * hv * hv <= 0.0  # Tip points down.


def _rotation(orientation_classes: np.ndarray) -> tuple[np.ndarray, ...]:
    """cos and sin of the orientation angles, with 2 pi folded onto 0."""
    angle = np.mod(factor_values()[3][orientation_classes], 2 * np.pi)
    return np.cos(angle), np.sin(angle)


def render(classes: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Renders factor ``classes`` ``(n, 6)`` by direct evaluation.

    This is the definition of the images; it is exact but slow (it evaluates
    every pixel). Use :class:`ProceduralDSprites` for speed.

    Returns:
        uint8 ``(n, 64, 64)`` with values 0 and 1.
    """
    classes = np.asarray(classes, dtype=np.int64).reshape(-1, 6)
    out = np.zeros((len(classes), SIZE, SIZE), np.uint8)
    centres = 8 * np.arange(SIZE) + _SUB // 2  # Pixel centres in 1/8 px.
    scales = factor_values()[2]
    for start in range(0, len(classes), chunk):
        part = classes[start:start + chunk]
        cx = _POS_START + _POS_STEP * part[:, 4]
        cy = _POS_START + _POS_STEP * part[:, 5]
        mx = centres[None, None, :] - cx[:, None, None]
        my = centres[None, :, None] - cy[:, None, None]
        cos, sin = (a[:, None, None] for a in _rotation(part[:, 3]))
        scale = scales[part[:, 2]][:, None, None]
        for shape in range(3):
            sel = part[:, 1] == shape
            if sel.any():
                mask = _inside(shape, scale[sel], cos[sel], sin[sel],
                               mx[sel], my[sel])
                out[start + np.flatnonzero(sel)] = mask
    return out


# Reference: docs/original.md#embedded-datasets
class ProceduralDSprites(ImageSource):
    """dSprites rendered on demand, identical to :func:`render`.

    Templates (one per shape, scale and orientation, split into the 8 x 8
    sub-pixel phases) are built lazily on first use: 47 MB when all are built.
    """

    name = "dsprites"
    image_shape = (SIZE, SIZE, 1)
    max_value = 1

    def __init__(self):
        # uint8 (shape*scale*orientation, phase y, phase x, patch y, patch x).
        self._templates = np.zeros((3 * 6 * 40, _SUB, _SUB, _PATCH, _PATCH),
                                   np.uint8)
        self._built = np.zeros(3 * 6 * 40, bool)
        offsets = np.arange(_PATCH)
        pad = SIZE + 2 * _PATCH
        self._paste_offsets = (offsets[:, None] * pad + offsets).reshape(-1)

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
        """Images at ``indices`` as uint8 ``(n, 64, 64, 1)`` of 0 and 1."""
        classes = latents_classes(indices)
        combos = np.ravel_multi_index(tuple(classes[:, 1:4].T), (3, 6, 40))
        self._build(np.unique(combos[~self._built[combos]]))
        # A pixel centre at column c has lattice offset 8 c + 4 - cx. Writing
        # 4 - cx = 8 q + phase, template column j lands on column j - 16 - q.
        qy, phase_y = np.divmod(_SUB // 2 - _POS_START
                                - _POS_STEP * classes[:, 5], _SUB)
        qx, phase_x = np.divmod(_SUB // 2 - _POS_START
                                - _POS_STEP * classes[:, 4], _SUB)
        patches = self._templates[combos, phase_y, phase_x]
        # Paste into a canvas padded by a patch on each side, then crop, so
        # template pixels that fall off the canvas are simply dropped.
        pad = SIZE + 2 * _PATCH
        n = len(classes)
        canvas = np.zeros((n, pad, pad), np.uint8)
        top = _PATCH - _HALF_PATCH - qy
        left = _PATCH - _HALF_PATCH - qx
        base = np.arange(n) * pad * pad + top * pad + left
        canvas.reshape(-1)[base[:, None] + self._paste_offsets] = (
            patches.reshape(n, -1))
        return canvas[:, _PATCH:_PATCH + SIZE, _PATCH:_PATCH + SIZE, None]

    def _build(self, combos: np.ndarray) -> None:
        """Evaluates the templates of ``combos`` on the fine lattice."""
        if not len(combos):
            return
        shape, scale_cls, orient_cls = np.unravel_index(combos, (3, 6, 40))
        m = np.arange(-_HALF_PATCH * _SUB, _HALF_PATCH * _SUB)
        cos, sin = (a[:, None, None] for a in _rotation(orient_cls))
        scale = factor_values()[2][scale_cls][:, None, None]
        for s in range(3):
            sel = shape == s
            if sel.any():
                fine = _inside(s, scale[sel], cos[sel], sin[sel],
                               m[None, None, :], m[None, :, None])
                # fine[k, 8 i + py, 8 j + px] -> template[k, py, px, i, j].
                fine = fine.reshape(-1, _PATCH, _SUB, _PATCH, _SUB)
                self._templates[combos[sel]] = fine.transpose(0, 2, 4, 1, 3)
        self._built[combos] = True


def write_npz(path: str, indices: np.ndarray | None = None,
              chunk: int = 16384) -> None:
    """Writes DeepMind's npz layout (``imgs``, ``latents_classes``, ...).

    The file appears atomically: it is written to a temporary file in the
    same directory and renamed. Images are rendered chunk by chunk into one
    uint8 array (3 GB for the full dataset), the peak memory.

    Args:
        path: destination, e.g. ``data_dir/NPZ_FILENAME``.
        indices: a subset to write (for tests); default all images in order.
        chunk: images rendered at a time.
    """
    if indices is None:
        indices = np.arange(NUM_IMAGES)
    indices = np.asarray(indices, dtype=np.int64)
    source = ProceduralDSprites()
    imgs = np.empty((len(indices), SIZE, SIZE), np.uint8)
    for start in range(0, len(indices), chunk):
        imgs[start:start + chunk] = source.images(
            indices[start:start + chunk])[..., 0]
    classes = latents_classes(indices)

    def save(temp: str) -> None:
        # A file object: given a name, numpy would append ".npz" to it.
        with open(temp, "wb") as f:
            np.savez_compressed(f, imgs=imgs, latents_classes=classes,
                                latents_values=latents_values(classes))

    atomic_save(path, save)


def load(data_dir: str, log=print) -> ImageSource:
    """The dataset's images: its file under ``data_dir``, else embedded."""
    from provlae_tf.data import dsprites_npz
    from provlae_tf.data.base import file_or_embedded
    return file_or_embedded(SPEC, data_dir, dsprites_npz.load_dsprites_npz,
                            ProceduralDSprites, log)
