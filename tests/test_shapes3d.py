"""Tests of the procedural 3D Shapes (tiny index sets only)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from provlae_tf.data import shapes3d, shapes3d_layers
from provlae_tf.data.base import ImageSource

BASE = dict(floor=1, wall=5, hue=3, scale=4, shape=0, orientation=7)


@pytest.fixture(scope="module")
def source() -> shapes3d.ProceduralShapes3D:
    return shapes3d.ProceduralShapes3D()


def classes_of(**factors) -> np.ndarray:
    """One row of classes: ``BASE`` with ``factors`` replaced."""
    merged = {**BASE, **factors}
    return np.array([[merged[k] for k in BASE]])


def image(source, **factors) -> np.ndarray:
    indices = shapes3d.index_from_classes(classes_of(**factors))
    return source.images(indices)[0].astype(int)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels ``(64, 64)`` where two images differ in any channel."""
    return (a != b).any(axis=-1)


def object_mask(source, **factors) -> np.ndarray:
    """Pixels that change when the object turns from red to cyan."""
    return changed(image(source, **{**factors, "hue": 0}),
                   image(source, **{**factors, "hue": 5}))


def test_constants(source):
    assert shapes3d.FACTOR_NAMES == ("floor_hue", "wall_hue", "object_hue",
                                     "scale", "shape", "orientation")
    assert shapes3d.FACTOR_SIZES == (10, 10, 10, 8, 4, 15)
    assert np.prod(shapes3d.FACTOR_SIZES) == shapes3d.NUM_IMAGES == 480000
    assert shapes3d.H5_FILENAME == "3dshapes.h5"
    assert isinstance(source, ImageSource) and source.name == "3dshapes"
    assert source.image_shape == (64, 64, 3) and source.max_value == 255
    assert len(source) == source.num_examples == 480000


@pytest.mark.parametrize("index, column", [
    (1, 5), (15, 4), (60, 3), (480, 2), (4800, 1), (48000, 0)])
def test_c_order(index, column):
    expected = np.zeros((1, 6), np.int64)
    expected[0, column] = 1
    np.testing.assert_array_equal(shapes3d.latents_classes([index]),
                                  expected)


def test_index_classes_round_trip():
    indices = np.concatenate([[0, shapes3d.NUM_IMAGES - 1],
                              np.random.default_rng(0).integers(
                                  0, shapes3d.NUM_IMAGES, 1000)])
    classes = shapes3d.latents_classes(indices)
    assert classes.dtype == np.int64 and classes.shape == (1002, 6)
    np.testing.assert_array_equal(classes[0], 0)
    np.testing.assert_array_equal(classes[1], np.array(
        shapes3d.FACTOR_SIZES) - 1)
    np.testing.assert_array_equal(shapes3d.index_from_classes(classes),
                                  indices)


def test_factor_values(source):
    values = shapes3d.factor_values()
    for hues in values[:3]:
        np.testing.assert_allclose(hues, 0.1 * np.arange(10), atol=1e-12)
    np.testing.assert_allclose(values[3], np.linspace(0.75, 1.25, 8))
    np.testing.assert_array_equal(values[4], [0, 1, 2, 3])
    np.testing.assert_allclose(values[5], np.linspace(-30, 30, 15))
    last = source.latents_values([shapes3d.NUM_IMAGES - 1])
    assert last.dtype == np.float64
    np.testing.assert_allclose(last, [[0.9, 0.9, 0.9, 1.25, 3, 30]])


def test_images_dtype_shape_determinism(source):
    indices = np.array([0, 4801, 123456, shapes3d.NUM_IMAGES - 1])
    images = source.images(indices)
    assert images.dtype == np.uint8 and images.shape == (4, 64, 64, 3)
    np.testing.assert_array_equal(
        images, shapes3d.ProceduralShapes3D().images(indices))
    np.testing.assert_array_equal(images[1:], source.images(indices[1:]))


def test_images_equal_render(source):
    rng = np.random.default_rng(1)
    indices = np.concatenate([[0, shapes3d.NUM_IMAGES - 1],
                              rng.integers(0, shapes3d.NUM_IMAGES, 10)])
    np.testing.assert_array_equal(
        source.images(indices),
        shapes3d.render(shapes3d.latents_classes(indices)))


def test_hues_colour_their_own_region(source):
    base = image(source)
    floor = changed(base, image(source, floor=6))
    wall = changed(base, image(source, wall=0))
    obj = changed(base, image(source, hue=8))
    assert floor[-8:].all() and not floor[:24].any()
    assert wall[:8].all() and not wall[-16:].any()
    assert obj.sum() > 100
    assert not obj[:10].any() and not obj[-10:].any()
    # Regions overlap only along antialiased edges.
    assert (floor & wall).sum() < 64 and (floor & obj).sum() < 0.2 * obj.sum()
    assert (wall & obj).sum() < 0.2 * obj.sum()


@pytest.mark.parametrize("shape", range(4))
def test_scale_grows_object(source, shape):
    areas = [object_mask(source, scale=s, shape=shape).sum()
             for s in (0, 3, 7)]
    assert areas[0] < areas[1] < areas[2]


def test_shapes_differ(source):
    images = [image(source, shape=s) for s in range(4)]
    masks = [object_mask(source, shape=s) for s in range(4)]
    for a in range(4):
        for b in range(a):
            assert changed(images[a], images[b]).sum() > 20
            assert (masks[a] ^ masks[b]).sum() > 20


def test_orientation_turns_cube_not_sphere(source):
    cubes = [object_mask(source, shape=0, orientation=o) for o in (0, 7, 14)]
    assert (cubes[0] ^ cubes[1]).sum() > 20
    assert (cubes[1] ^ cubes[2]).sum() > 20
    spheres = [object_mask(source, shape=2, orientation=o) for o in (0, 14)]
    assert (spheres[0] ^ spheres[1]).sum() <= 2
    # The view still changes: the room and the lighting turn.
    assert changed(image(source, shape=2, orientation=0),
                   image(source, shape=2, orientation=14)).sum() > 100


def test_largest_objects_fit_the_window():
    for shape in range(4):
        for orientation in (0, 14):
            combo = np.ravel_multi_index((7, shape, orientation), (8, 4, 15))
            _, inverse = shapes3d_layers.object_table(combo)
            # 255 - alpha: the object covers the middle, not the border.
            assert inverse.min() == 0, combo
            for border in (inverse[0], inverse[-1], inverse[:, 0],
                           inverse[:, -1]):
                assert np.all(border == 255), combo


def test_write_h5_round_trip(tmp_path, source):
    h5py = pytest.importorskip("h5py")
    indices = np.array([0, 1, 4799, 123457, shapes3d.NUM_IMAGES - 1])
    path = tmp_path / shapes3d.H5_FILENAME
    shapes3d.write_h5(str(path), indices, chunk=2)
    assert os.listdir(tmp_path) == [shapes3d.H5_FILENAME]
    with h5py.File(path, "r") as f:
        images, labels = f["images"][:], f["labels"][:]
    assert images.dtype == np.uint8 and labels.dtype == np.float64
    np.testing.assert_array_equal(images, source.images(indices))
    np.testing.assert_array_equal(labels, shapes3d.latents_values(
        shapes3d.latents_classes(indices)))
