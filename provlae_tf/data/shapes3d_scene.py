"""3D Shapes' scene geometry: the camera, the room corner and the objects.

A pinhole camera orbits the object by the orientation factor and casts
``SUB x SUB`` rays per pixel. The room is three planes (floor, back wall,
side wall); the objects (cube, cylinder, sphere, capsule) stand on the floor
around the vertical axis. Everything here is pure ray-surface geometry; the
shading and compositing live in :mod:`provlae_tf.data.shapes3d_layers`.
"""

from __future__ import annotations

import numpy as np

from provlae_tf.data.shapes3d_factors import SIZE, factor_values

SUB = 3  # Supersamples per pixel side.
EYE_DISTANCE = 5.0  # Horizontal distance of the camera from the object.
EYE_HEIGHT = 1.9
LOOK_HEIGHT = 0.7  # The camera aims at this point above the object's foot.
FOCAL = 96.0  # Pixels.
ROOM_TURN = np.deg2rad(30.0)  # Yaw of the room, so the corner sits aside.
BACK, SIDE = 1.8, 2.9  # Distances of the back and side walls.
EPS = 1e-6


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def camera(orientation_cls: int, rows: slice = slice(0, SIZE),
           cols: slice = slice(0, SIZE)) -> tuple[np.ndarray, np.ndarray]:
    """Eye ``(3,)`` and unit rays ``(N, 3)`` through pixels rows x cols.

    There are ``SUB**2`` rays per pixel, in row-major order of samples.
    """
    phi = np.deg2rad(factor_values()[5][orientation_cls])
    eye = np.array([EYE_DISTANCE * np.sin(phi), EYE_HEIGHT,
                    EYE_DISTANCE * np.cos(phi)])
    forward = _unit(np.array([0.0, LOOK_HEIGHT, 0.0]) - eye)
    right = _unit(np.cross(forward, [0.0, 1.0, 0.0]))
    up = np.cross(right, forward)
    y, x = ((np.arange(r.start * SUB, r.stop * SUB) + 0.5) / SUB - SIZE / 2
            for r in (rows, cols))
    rays = (FOCAL * forward + x[None, :, None] * right
            - y[:, None, None] * up)  # Image rows grow downwards.
    return eye, _unit(rays.reshape(-1, 3))


def pixel_mean(samples: np.ndarray, rows: int = SIZE,
               cols: int = SIZE) -> np.ndarray:
    """Averages supersamples ``(N,)`` into pixels ``(rows, cols)``."""
    return samples.reshape(rows, SUB, cols, SUB).mean(axis=(1, 3))


def room(eye: np.ndarray, rays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distance and surface (0 floor, 1 back wall, 2 side wall) per ray."""
    c, s = np.cos(ROOM_TURN), np.sin(ROOM_TURN)
    # Plane normals n (into the room) and offsets: n . p + offset = 0.
    normals = np.array([[0.0, 1.0, 0.0], [s, 0.0, c], [-c, 0.0, s]])
    offsets = np.array([0.0, BACK, SIDE])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -(normals @ eye + offsets) / (rays @ normals.T)
    t = np.where(t > EPS, t, np.inf)
    surface = np.argmin(t, axis=1)
    return t[np.arange(len(t)), surface], surface


def _near_root(a, b, c) -> np.ndarray:
    """Nearer positive root of ``a t^2 + 2 b t + c``, inf where none."""
    disc = b * b - a * c
    t = (-b - np.sqrt(disc)) / a
    return np.where((disc >= 0) & (t > EPS), t, np.inf)


def _profile(shape: int, scale: float) -> tuple[float, float]:
    """Radius (a cube's half side) and height of an object."""
    radius, height = ((0.5, 1.0), (0.5, 1.0), (0.5, 1.0), (0.36, 1.3))[shape]
    return radius * scale, height * scale


def hit_object(shape: int, scale: float, o: np.ndarray,
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
        hit = (near <= np.maximum(t1, t2).min(axis=1)) & (near > EPS)
        return np.where(hit, near, np.inf)
    y0, y1 = (0.0, h) if shape == 1 else (r, h - r)
    (ox, oy, oz), (dx, dy, dz) = o.T, d.T
    t = _near_root(dx * dx + dz * dz, ox * dx + oz * dz,
                   ox * ox + oz * oz - r * r)
    t = np.where((oy + t * dy >= y0) & (oy + t * dy <= y1), t, np.inf)
    if shape == 1:  # The top disk.
        top = (h - oy) / dy
        inside = (ox + top * dx) ** 2 + (oz + top * dz) ** 2 <= r * r
        return np.minimum(t, np.where(inside & (top > EPS), top, np.inf))
    for centre in (y0, y1):  # The caps.
        t = np.minimum(t, _near_root(1.0, ox * dx + (oy - centre) * dy
                                     + oz * dz, ox * ox + (oy - centre) ** 2
                                     + oz * oz - r * r))
    return t


def normal(shape: int, scale: float, p: np.ndarray) -> np.ndarray:
    """Outward unit normals at points ``p`` ``(N, 3)`` on the object."""
    r, h = _profile(shape, scale)
    rows = np.arange(len(p))
    if shape == 0:  # The axis along which the point is farthest out.
        q = p - np.array([0.0, r, 0.0])
        axis = np.abs(q).argmax(axis=1)
        normals = np.zeros_like(p)
        normals[rows, axis] = np.sign(q[rows, axis])
        return normals
    if shape == 1:
        top = p[:, 1] > h - 1e-9
        return np.where(top[:, None], [0.0, 1.0, 0.0], p * [1.0, 0.0, 1.0] / r)
    # Away from the nearest point of the axis segment.
    axis_y = np.clip(p[:, 1], r, h - r)
    return (p - axis_y[:, None] * [0.0, 1.0, 0.0]) / r
