"""Tests of the procedural dSprites (tiny index sets only)."""

from __future__ import annotations

import numpy as np
import pytest

from provlae_tf.data import dsprites
from provlae_tf.data.base import ImageSource


@pytest.fixture(scope="module")
def source() -> dsprites.ProceduralDSprites:
    return dsprites.ProceduralDSprites()


def classes_of(shape=0, scale=5, orientation=0, pos_x=16, pos_y=16, n=1):
    return np.tile([0, shape, scale, orientation, pos_x, pos_y], (n, 1))


def sweep(column: int, values, **fixed) -> np.ndarray:
    classes = classes_of(n=len(values), **fixed)
    classes[:, column] = values
    return classes


def centroid(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(image)
    return rows.mean(), cols.mean()


def test_constants():
    assert dsprites.FACTOR_NAMES == ("color", "shape", "scale",
                                     "orientation", "posX", "posY")
    assert dsprites.FACTOR_SIZES == (1, 3, 6, 40, 32, 32)
    assert np.prod(dsprites.FACTOR_SIZES) == dsprites.NUM_IMAGES == 737280
    assert dsprites.NPZ_FILENAME == (
        "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")


@pytest.mark.parametrize("index, column", [
    (1, 5), (32, 4), (1024, 3), (40960, 2), (245760, 1)])
def test_c_order(index, column):
    expected = np.zeros((1, 6), np.int64)
    expected[0, column] = 1
    np.testing.assert_array_equal(dsprites.latents_classes([index]), expected)


def test_index_classes_round_trip():
    indices = np.concatenate([[0, dsprites.NUM_IMAGES - 1],
                              np.random.default_rng(0).integers(
                                  0, dsprites.NUM_IMAGES, 1000)])
    classes = dsprites.latents_classes(indices)
    assert classes.dtype == np.int64 and classes.shape == (1002, 6)
    np.testing.assert_array_equal(classes[0], 0)
    np.testing.assert_array_equal(classes[1], np.array(
        dsprites.FACTOR_SIZES) - 1)
    np.testing.assert_array_equal(dsprites.index_from_classes(classes),
                                  indices)


def test_values_match_deepmind():
    color, shape, scale, orientation, pos_x, pos_y = dsprites.factor_values()
    np.testing.assert_array_equal(color, [1.0])
    np.testing.assert_array_equal(shape, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(scale, np.linspace(0.5, 1, 6))
    assert orientation[0] == 0 and orientation[-1] == 2 * np.pi
    assert len(orientation) == 40
    for pos in (pos_x, pos_y):
        assert len(pos) == 32 and pos[0] == 0 and pos[-1] == 1
    values = dsprites.latents_values(dsprites.latents_classes(
        [0, dsprites.NUM_IMAGES - 1]))
    assert values.dtype == np.float64
    np.testing.assert_allclose(values, [[1, 1, 0.5, 0, 0, 0],
                                        [1, 3, 1, 2 * np.pi, 1, 1]])


def test_source_interface(source):
    assert isinstance(source, ImageSource)
    assert source.name == "dsprites" and source.max_value == 1
    assert source.image_shape == (64, 64, 1)
    assert len(source) == dsprites.NUM_IMAGES
    np.testing.assert_array_equal(source.latents_classes([32]),
                                  [[0, 0, 0, 0, 1, 0]])
    np.testing.assert_allclose(source.latents_values([245760]),
                               [[1, 2, 0.5, 0, 0, 0]])


def test_images_binary_and_deterministic(source):
    indices = np.random.default_rng(1).integers(0, dsprites.NUM_IMAGES, 64)
    images = source.images(indices)
    assert images.dtype == np.uint8 and images.shape == (64, 64, 64, 1)
    assert set(np.unique(images)) == {0, 1}
    assert images.reshape(64, -1).sum(axis=1).min() > 20
    np.testing.assert_array_equal(images, source.images(indices))
    fresh = dsprites.ProceduralDSprites()  # Builds its templates anew.
    np.testing.assert_array_equal(images, fresh.images(indices))


def test_images_equal_render(source):
    indices = np.random.default_rng(2).integers(0, dsprites.NUM_IMAGES, 3000)
    expected = dsprites.render(dsprites.latents_classes(indices))
    np.testing.assert_array_equal(source.images(indices)[..., 0], expected)


def test_orientation_0_equals_2pi():
    for shape in range(3):
        images = dsprites.render(sweep(3, [0, 39], shape=shape, pos_x=7))
        np.testing.assert_array_equal(images[0], images[1])


def test_rotation_changes_sprites():
    for shape in range(3):
        images = dsprites.render(sweep(3, [0, 5], shape=shape))
        assert not np.array_equal(images[0], images[1])


@pytest.mark.parametrize("column, axis", [(4, 1), (5, 0)])
def test_position_moves_centroid(column, axis):
    # posX moves right (columns grow), posY moves down (rows grow).
    images = dsprites.render(sweep(column, np.arange(32), shape=1))
    centres = np.array([centroid(image)[axis] for image in images])
    assert np.all(np.diff(centres) > 0.5)
    other = np.array([centroid(image)[1 - axis] for image in images])
    np.testing.assert_allclose(other, other[0])


def test_area_grows_with_scale():
    for shape in range(3):
        images = dsprites.render(sweep(2, np.arange(6), shape=shape))
        assert np.all(np.diff(images.sum(axis=(1, 2))) > 0)


def test_shapes_differ():
    images = dsprites.render(sweep(1, [0, 1, 2]))
    areas = images.sum(axis=(1, 2))
    assert len(set(areas)) == 3
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert np.sum(images[a] != images[b]) > 30


def test_heart_points_down():
    heart = dsprites.render(classes_of(shape=2))[0]
    rows = np.nonzero(heart.any(axis=1))[0]
    top, bottom = heart[rows[0]].sum(), heart[rows[-1]].sum()
    assert bottom < top  # The tip is the narrow bottom end.


def test_sprites_stay_inside_canvas():
    corners = [(x, y) for x in (0, 31) for y in (0, 31)]
    classes = np.array([[0, shape, 5, orientation, x, y]
                        for shape in range(3) for orientation in range(40)
                        for x, y in corners])
    images = dsprites.render(classes)
    assert images.sum(axis=(1, 2)).min() > 100
    for border in (images[:, 0], images[:, -1], images[:, :, 0],
                   images[:, :, -1]):
        assert not border.any()


def test_write_npz_subset(tmp_path):
    path = tmp_path / dsprites.NPZ_FILENAME
    indices = np.array([0, 1, 1024, 245760, dsprites.NUM_IMAGES - 1])
    dsprites.write_npz(str(path), indices=indices, chunk=2)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    with np.load(path, allow_pickle=False) as f:
        assert f["imgs"].dtype == np.uint8 and f["imgs"].shape == (5, 64, 64)
        np.testing.assert_array_equal(
            f["imgs"], dsprites.render(dsprites.latents_classes(indices)))
        np.testing.assert_array_equal(f["latents_classes"],
                                      dsprites.latents_classes(indices))
        assert f["latents_values"].dtype == np.float64
        np.testing.assert_array_equal(
            f["latents_values"],
            dsprites.latents_values(dsprites.latents_classes(indices)))
