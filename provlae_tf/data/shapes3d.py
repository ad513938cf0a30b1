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
"""

from __future__ import annotations

import numpy as np

from provlae_tf.data import factor_grid
from provlae_tf.data.base import ImageSource
from provlae_tf.fileio import atomic_save

FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape",
                "orientation")
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
NUM_IMAGES = 480000
H5_FILENAME = "3dshapes.h5"
SIZE = 64

_SUB = 3  # Supersamples per pixel side.
_GEOMETRY = (8, 4, 15)  # Scale, shape, orientation: an object's geometry.
_EYE_DISTANCE = 5.0  # Horizontal distance of the camera from the object.
_EYE_HEIGHT = 1.9
_LOOK_HEIGHT = 0.7  # The camera aims at this point above the object's foot.
_FOCAL = 96.0  # Pixels.
_ROOM_TURN = np.deg2rad(30.0)  # Yaw of the room, so the corner sits aside.
_BACK, _SIDE = 1.8, 2.9  # Distances of the back and side walls.
_LIGHT = np.array([-0.35, 1.3, 0.65]) / np.linalg.norm([-0.35, 1.3, 0.65])
_AMBIENT = 0.45
_SHADOW = 0.45  # Alpha of the black shadow overlay.
_EPS = 1e-6
# Every object and its shadow lie inside this window of pixels (checked when
# built), so only the window is ray cast for objects and composited.
_ROWS, _COLS = slice(13, 52), slice(14, 57)


def factor_values() -> tuple[np.ndarray, ...]:
    """The value of every class of every factor, in ``FACTOR_NAMES`` order."""
    hues = np.linspace(0, 0.9, 10)
    return (hues, hues.copy(), hues.copy(), np.linspace(0.75, 1.25, 8),
            np.arange(4.0), np.linspace(-30, 30, 15))


def latents_classes(indices: np.ndarray) -> np.ndarray:
    """Factor classes ``(n, 6)`` int64 of dataset ``indices`` (C order)."""
    return factor_grid.classes_of(indices, FACTOR_SIZES)


def latents_values(classes: np.ndarray) -> np.ndarray:
    """Factor values ``(n, 6)`` float64 of factor ``classes`` ``(n, 6)``."""
    return factor_grid.values_of(classes, factor_values())


def index_from_classes(classes: np.ndarray) -> np.ndarray:
    """Dataset indices ``(n,)`` int64 of factor ``classes`` ``(n, 6)``."""
    return factor_grid.indices_of(classes, FACTOR_SIZES)


def hue_rgb(hues: np.ndarray) -> np.ndarray:
    """RGB ``(n, 3)`` in [0, 1] of HSV colours with saturation = value = 1."""
    k = np.mod(np.array([5.0, 3.0, 1.0]) + 6.0 * np.asarray(hues)[:, None], 6)
    return 1.0 - np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _camera(orientation_cls: int, rows: slice = slice(0, SIZE),
            cols: slice = slice(0, SIZE)) -> tuple[np.ndarray, np.ndarray]:
    """Eye ``(3,)`` and unit rays ``(N, 3)`` through pixels rows x cols.

    There are ``_SUB**2`` rays per pixel, in row-major order of samples.
    """
    phi = np.deg2rad(factor_values()[5][orientation_cls])
    eye = np.array([_EYE_DISTANCE * np.sin(phi), _EYE_HEIGHT,
                    _EYE_DISTANCE * np.cos(phi)])
    forward = _unit(np.array([0.0, _LOOK_HEIGHT, 0.0]) - eye)
    right = _unit(np.cross(forward, [0.0, 1.0, 0.0]))
    up = np.cross(right, forward)
    y, x = ((np.arange(r.start * _SUB, r.stop * _SUB) + 0.5) / _SUB - SIZE / 2
            for r in (rows, cols))
    rays = (_FOCAL * forward + x[None, :, None] * right
            - y[:, None, None] * up)  # Image rows grow downwards.
    return eye, _unit(rays.reshape(-1, 3))


def _pixel_mean(samples: np.ndarray, rows: int = SIZE,
                cols: int = SIZE) -> np.ndarray:
    """Averages supersamples ``(N,)`` into pixels ``(rows, cols)``."""
    return samples.reshape(rows, _SUB, cols, _SUB).mean(axis=(1, 3))


def _room(eye: np.ndarray, rays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distance and surface (0 floor, 1 back wall, 2 side wall) per ray."""
    c, s = np.cos(_ROOM_TURN), np.sin(_ROOM_TURN)
    # Plane normals n (into the room) and offsets: n . p + offset = 0.
    normals = np.array([[0.0, 1.0, 0.0], [s, 0.0, c], [-c, 0.0, s]])
    offsets = np.array([0.0, _BACK, _SIDE])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -(normals @ eye + offsets) / (rays @ normals.T)
    t = np.where(t > _EPS, t, np.inf)
    surface = np.argmin(t, axis=1)
    return t[np.arange(len(t)), surface], surface


def _near_root(a, b, c) -> np.ndarray:
    """Nearer positive root of ``a t^2 + 2 b t + c``, inf where none."""
    disc = b * b - a * c
    t = (-b - np.sqrt(disc)) / a
    return np.where((disc >= 0) & (t > _EPS), t, np.inf)


def _profile(shape: int, scale: float) -> tuple[float, float]:
    """Radius (a cube's half side) and height of an object."""
    radius, height = ((0.5, 1.0), (0.5, 1.0), (0.5, 1.0), (0.36, 1.3))[shape]
    return radius * scale, height * scale


def _hit_object(shape: int, scale: float, o: np.ndarray,
                d: np.ndarray) -> np.ndarray:
    """Distance along unit rays ``o + t d`` to the object, inf on a miss.

    The object stands on the floor around the vertical axis; a sphere is a
    capsule without a straight part.
    """
    r, h = _profile(shape, scale)
    o = np.broadcast_to(o, d.shape)
    if shape == 0:  # Slabs: the latest entry before the earliest exit.
        t1 = (np.array([-r, 0.0, -r]) - o) / d
        t2 = (np.array([r, h, r]) - o) / d
        near = np.minimum(t1, t2).max(axis=1)
        hit = (near <= np.maximum(t1, t2).min(axis=1)) & (near > _EPS)
        return np.where(hit, near, np.inf)
    y0, y1 = (0.0, h) if shape == 1 else (r, h - r)
    (ox, oy, oz), (dx, dy, dz) = o.T, d.T
    t = _near_root(dx * dx + dz * dz, ox * dx + oz * dz,
                   ox * ox + oz * oz - r * r)
    t = np.where((oy + t * dy >= y0) & (oy + t * dy <= y1), t, np.inf)
    if shape == 1:  # The top disk.
        top = (h - oy) / dy
        inside = (ox + top * dx) ** 2 + (oz + top * dz) ** 2 <= r * r
        return np.minimum(t, np.where(inside & (top > _EPS), top, np.inf))
    for centre in (y0, y1):  # The caps.
        t = np.minimum(t, _near_root(1.0, ox * dx + (oy - centre) * dy
                                     + oz * dz, ox * ox + (oy - centre) ** 2
                                     + oz * oz - r * r))
    return t


def _normal(shape: int, scale: float, p: np.ndarray) -> np.ndarray:
    """Outward unit normals at points ``p`` ``(N, 3)`` on the object."""
    r, h = _profile(shape, scale)
    rows = np.arange(len(p))
    if shape == 0:  # The axis along which the point is farthest out.
        q = p - np.array([0.0, r, 0.0])
        axis = np.abs(q).argmax(axis=1)
        normal = np.zeros_like(p)
        normal[rows, axis] = np.sign(q[rows, axis])
        return normal
    if shape == 1:
        top = p[:, 1] > h - 1e-9
        return np.where(top[:, None], [0.0, 1.0, 0.0], p * [1.0, 0.0, 1.0] / r)
    # Away from the nearest point of the axis segment.
    axis_y = np.clip(p[:, 1], r, h - r)
    return (p - axis_y[:, None] * [0.0, 1.0, 0.0]) / r


def _background_table(orientation_cls: int) -> np.ndarray:
    """uint8 room images ``(10 floor hues, 10 wall hues, 64, 64, 3)``."""
    eye, rays = _camera(orientation_cls)
    t, surface = _room(eye, rays)
    p = eye + t[:, None] * rays
    # Floor: darker towards the back. Walls: flat, the side wall in shade.
    depth = np.clip((p[:, 2] + _BACK) / (_BACK + _EYE_DISTANCE), 0.0, 1.0)
    floor = _pixel_mean(np.where(surface == 0, 0.68 + 0.3 * depth, 0.0))
    wall = _pixel_mean(np.select([surface == 1, surface == 2],
                                 [0.92 + 0.04 * np.tanh(p[:, 1] - 1.5), 0.74]))
    rgb = hue_rgb(factor_values()[0])
    table = (floor[None, None, :, :, None] * rgb[:, None, None, None, :]
             + wall[None, None, :, :, None] * rgb[None, :, None, None, :])
    return np.clip(np.rint(255.0 * table), 0, 255).astype(np.uint8)


def _object_table(combo: int) -> tuple[np.ndarray, np.ndarray]:
    """The object layer of geometry ``combo`` (a ``_GEOMETRY`` index).

    Returns:
        Premultiplied colour uint16 ``(10 object hues, h, w, 3)`` in units
        of 1 / 255**2, and ``255 - alpha`` uint16 ``(h, w, 3)``, over the
        ``_ROWS`` x ``_COLS`` window.
    """
    scale_cls, shape, orientation_cls = np.unravel_index(combo, _GEOMETRY)
    scale = factor_values()[3][scale_cls]
    eye, rays = _camera(orientation_cls, _ROWS, _COLS)
    with np.errstate(divide="ignore", invalid="ignore"):  # Misses: inf, nan.
        t = _hit_object(shape, scale, eye, rays)
        hit = np.isfinite(t)
        normal = _normal(shape, scale, eye + np.where(hit, t, 0)[:, None]
                         * rays)
        shade = _AMBIENT + (1 - _AMBIENT) * np.maximum(normal @ _LIGHT, 0)
        # Floor samples from which the object blocks the light.
        t_room, surface = _room(eye, rays)
        floor = np.flatnonzero(~hit & (surface == 0))
        foot = eye + t_room[floor, None] * rays[floor]
        shadow = np.zeros(len(rays))
        shadow[floor] = np.isfinite(_hit_object(
            shape, scale, foot, np.broadcast_to(_LIGHT, foot.shape)))
    h, w = _ROWS.stop - _ROWS.start, _COLS.stop - _COLS.start
    alpha = _pixel_mean(np.where(hit, 1.0, _SHADOW * shadow), h, w)
    colour = _pixel_mean(np.where(hit, shade, 0.0), h, w)
    # Object and shadow form one blob around the centre: a clear border
    # proves that nothing was cut off.
    if alpha[[0, -1]].any() or alpha[:, [0, -1]].any():
        raise AssertionError(f"object {combo} reaches the window's border")
    alpha8 = np.rint(255.0 * alpha).astype(np.uint16)
    rgb = hue_rgb(factor_values()[2])[:, None, None, :]
    premult = np.rint(65025.0 * colour[..., None] * rgb)
    # Cap at 255 alpha so the composite below cannot overflow uint16.
    premult = np.minimum(premult, 255.0 * alpha8[..., None])
    inverse = np.repeat((255 - alpha8)[..., None], 3, axis=-1)
    return premult.astype(np.uint16), inverse


def _composite(rooms: np.ndarray, premult: np.ndarray,
               inverse: np.ndarray) -> np.ndarray:
    """Puts object layers over uint8 ``rooms`` ``(n, 64, 64, 3)``, in place.

    Computes round((premult + (255 - alpha) * room) / 255) in uint16; the
    shifts divide by 255 exactly for numerators up to 255**2.
    """
    window = rooms[:, _ROWS, _COLS]
    v = inverse * window
    v += premult
    v += 128
    v += v >> 8
    v >>= 8
    window[...] = v
    return rooms


def _geometry(classes: np.ndarray) -> np.ndarray:
    """``_GEOMETRY`` indices (scale, shape, orientation) of ``classes``."""
    return np.ravel_multi_index(tuple(classes[:, 3:].T), _GEOMETRY)


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
            *classes[:, :3].T, _geometry(classes), classes[:, 5])):
        if orientation not in rooms:
            rooms[orientation] = _background_table(orientation)
        if combo not in objects:
            objects[combo] = _object_table(combo)
        premult, inverse = objects[combo]
        out[k] = _composite(rooms[orientation][floor, wall][None].copy(),
                            premult[hue][None], inverse[None])[0]
    return out


class ProceduralShapes3D(ImageSource):
    """3D Shapes rendered on demand, identical to :func:`render`.

    Layer tables are built lazily on first use: 18 MB of rooms and 53 MB of
    object layers when all are built (about 4 s of ray casting in all).
    """

    name = "3dshapes"
    image_shape = (SIZE, SIZE, 3)
    max_value = 255

    def __init__(self):
        h, w = _ROWS.stop - _ROWS.start, _COLS.stop - _COLS.start
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
        orientation, combos = classes[:, 5], _geometry(classes)
        for o in np.unique(orientation[~self._rooms_built[orientation]]):
            self._rooms[o] = _background_table(o)
            self._rooms_built[o] = True
        for c in np.unique(combos[~self._objects_built[combos]]):
            self._premult[c], self._inverse[c] = _object_table(c)
            self._objects_built[c] = True
        rooms = self._rooms[orientation, classes[:, 0], classes[:, 1]]
        return _composite(rooms, self._premult[combos, classes[:, 2]],
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
