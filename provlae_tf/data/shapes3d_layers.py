"""3D Shapes' shading: the room and object layer tables and their compositing.

An image is the room (a function of orientation, floor hue and wall hue)
under the object and its shadow (scale, shape, orientation, object hue), a
premultiplied layer with alpha. The tables are uint8 / uint16 and the
compositing is integer arithmetic, so every caller that composites the same
tables gets bit-identical images. The geometry comes from
:mod:`provlae_tf.data.shapes3d_scene`.
"""

from __future__ import annotations

import numpy as np

from provlae_tf.data.shapes3d_factors import factor_values
from provlae_tf.data.shapes3d_scene import (BACK, EYE_DISTANCE, camera,
                                            hit_object, normal, pixel_mean,
                                            room)

GEOMETRY = (8, 4, 15)  # Scale, shape, orientation: an object's geometry.
LIGHT = np.array([-0.35, 1.3, 0.65]) / np.linalg.norm([-0.35, 1.3, 0.65])
AMBIENT = 0.45
SHADOW = 0.45  # Alpha of the black shadow overlay.
# Every object and its shadow lie inside this window of pixels (checked when
# built), so only the window is ray cast for objects and composited.
ROWS, COLS = slice(13, 52), slice(14, 57)
WINDOW = (ROWS.stop - ROWS.start, COLS.stop - COLS.start)


def hue_rgb(hues: np.ndarray) -> np.ndarray:
    """RGB ``(n, 3)`` in [0, 1] of HSV colours with saturation = value = 1."""
    k = np.mod(np.array([5.0, 3.0, 1.0]) + 6.0 * np.asarray(hues)[:, None], 6)
    return 1.0 - np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def background_table(orientation_cls: int) -> np.ndarray:
    """uint8 room images ``(10 floor hues, 10 wall hues, 64, 64, 3)``."""
    eye, rays = camera(orientation_cls)
    t, surface = room(eye, rays)
    p = eye + t[:, None] * rays
    # Floor: darker towards the back. Walls: flat, the side wall in shade.
    depth = np.clip((p[:, 2] + BACK) / (BACK + EYE_DISTANCE), 0.0, 1.0)
    floor = pixel_mean(np.where(surface == 0, 0.68 + 0.3 * depth, 0.0))
    wall = pixel_mean(np.select([surface == 1, surface == 2],
                                [0.92 + 0.04 * np.tanh(p[:, 1] - 1.5), 0.74]))
    rgb = hue_rgb(factor_values()[0])
    table = (floor[None, None, :, :, None] * rgb[:, None, None, None, :]
             + wall[None, None, :, :, None] * rgb[None, :, None, None, :])
    return np.clip(np.rint(255.0 * table), 0, 255).astype(np.uint8)


def object_table(combo: int) -> tuple[np.ndarray, np.ndarray]:
    """The object layer of geometry ``combo`` (a ``GEOMETRY`` index).

    Returns:
        Premultiplied colour uint16 ``(10 object hues, h, w, 3)`` in units
        of 1 / 255**2, and ``255 - alpha`` uint16 ``(h, w, 3)``, over the
        ``ROWS`` x ``COLS`` window.

    Raises:
        AssertionError: the object or its shadow reaches the window's border
            (a bug in the scene constants, never bad input).
    """
    scale_cls, shape, orientation_cls = np.unravel_index(combo, GEOMETRY)
    scale = factor_values()[3][scale_cls]
    eye, rays = camera(orientation_cls, ROWS, COLS)
    with np.errstate(divide="ignore", invalid="ignore"):  # Misses: inf, nan.
        t = hit_object(shape, scale, eye, rays)
        hit = np.isfinite(t)
        normals = normal(shape, scale, eye + np.where(hit, t, 0)[:, None]
                         * rays)
        shade = AMBIENT + (1 - AMBIENT) * np.maximum(normals @ LIGHT, 0)
        # Floor samples from which the object blocks the light.
        t_room, surface = room(eye, rays)
        floor = np.flatnonzero(~hit & (surface == 0))
        foot = eye + t_room[floor, None] * rays[floor]
        shadow = np.zeros(len(rays))
        shadow[floor] = np.isfinite(hit_object(
            shape, scale, foot, np.broadcast_to(LIGHT, foot.shape)))
    h, w = WINDOW
    alpha = pixel_mean(np.where(hit, 1.0, SHADOW * shadow), h, w)
    colour = pixel_mean(np.where(hit, shade, 0.0), h, w)
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


def composite(rooms: np.ndarray, premult: np.ndarray,
              inverse: np.ndarray) -> np.ndarray:
    """Puts object layers over uint8 ``rooms`` ``(n, 64, 64, 3)``, in place.

    Computes round((premult + (255 - alpha) * room) / 255) in uint16; the
    shifts divide by 255 exactly for numerators up to 255**2.
    """
    window = rooms[:, ROWS, COLS]
    v = inverse * window
    v += premult
    v += 128
    v += v >> 8
    v >>= 8
    window[...] = v
    return rooms


def geometry(classes: np.ndarray) -> np.ndarray:
    """``GEOMETRY`` indices (scale, shape, orientation) of ``classes``."""
    return np.ravel_multi_index(tuple(classes[:, 3:].T), GEOMETRY)
