"""Every loader turns every bad file into one clear UserError.

Property-based (hypothesis): each kind of dataset file (dSprites npz, 3D
Shapes h5, CelebA JPEG and PNG folders, MNIST IDX, gzip'd IDX and npz) is
fed empty, truncated, random-byte, wrong-dtype, wrong-shape and NaN/Inf
files. The loader must raise :class:`UserError`, never another exception,
with a one-line message that names the file, says what was expected and
what to do. The last test runs the command line on a bad file.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from provlae_tf.data import dsprites, registry, shapes3d
from provlae_tf.errors import UserError

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = settings(max_examples=20, deadline=None)
FEW = settings(max_examples=8, deadline=None)
N = 3  # images in a valid file


# ------------------------------------------------------------ valid files
def save_npz(path: Path, compressed: bool = False, **arrays) -> None:
    with open(path, "wb") as f:  # a file object: no ".npz" appended
        (np.savez_compressed if compressed else np.savez)(f, **arrays)


def dsprites_arrays(n: int = N) -> dict:
    rng = np.random.default_rng(n)
    return {"imgs": (rng.random((n, 64, 64)) < 0.3).astype(np.uint8),
            "latents_classes": np.zeros((n, 6), np.int64),
            "latents_values": np.zeros((n, 6))}


def write_dsprites(path: Path, compressed: bool = False) -> None:
    save_npz(path, compressed, **dsprites_arrays())


def write_h5(path: Path, images=None, labels=None, **extra) -> None:
    with h5py.File(path, "w") as f:
        if images is not None:
            f.create_dataset("images", data=images)
        if labels is not None:
            f.create_dataset("labels", data=labels)
        for name, data in extra.items():
            f.create_dataset(name, data=data)


def write_shapes3d(path: Path, compressed: bool = False) -> None:
    del compressed
    write_h5(path, np.full((N, 64, 64, 3), 7, np.uint8), np.zeros((N, 6)))


def idx_bytes(count: int = N, rows: int = 28, cols: int = 28,
              magic: int = 2051, pixels: int | None = None) -> bytes:
    pixels = count * rows * cols if pixels is None else pixels
    return struct.pack(">IIII", magic, count, rows, cols) + bytes(
        i % 256 for i in range(pixels))


def write_idx_data(path: Path, data: bytes) -> None:
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def write_idx(path: Path, compressed: bool = False) -> None:
    del compressed
    write_idx_data(path, idx_bytes())


def write_mnist_npz(path: Path, compressed: bool = False) -> None:
    save_npz(path, compressed, x_train=np.zeros((N, 28, 28), np.uint8))


def write_celeba_image(path: Path, compressed: bool = False,
                       size=(178, 218)) -> None:
    del compressed
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3),
                                               dtype=np.uint8)
    Image.fromarray(pixels).save(path)


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of dataset file: where it lies under --data_dir, the magic
    bytes its format starts with, and a writer of a small valid one."""
    name: str
    dataset: str
    relpath: str
    signature: bytes
    write: Callable[..., None]

    def __str__(self) -> str:
        return self.name


DSPRITES = Kind("dsprites-npz", "dsprites", dsprites.NPZ_FILENAME,
                b"PK\x03\x04", write_dsprites)
SHAPES3D = Kind("3dshapes-h5", "3dshapes", shapes3d.H5_FILENAME,
                b"\x89HDF\r\n\x1a\n", write_shapes3d)
CELEBA_JPG = Kind("celeba-jpg", "celeba", "celeba/000001.jpg",
                  b"\xff\xd8\xff", write_celeba_image)
CELEBA_PNG = Kind("celeba-png", "celeba", "celeba/000001.png",
                  b"\x89PNG\r\n\x1a\n", write_celeba_image)
IDX = Kind("mnist-idx", "mnist", "train-images-idx3-ubyte",
           struct.pack(">I", 2051), write_idx)
IDX_GZ = Kind("mnist-idx-gz", "mnist", "train-images-idx3-ubyte.gz",
              b"\x1f\x8b", write_idx)
MNIST_NPZ = Kind("mnist-npz", "mnist", "mnist.npz", b"PK\x03\x04",
                 write_mnist_npz)
KINDS = [DSPRITES, SHAPES3D, CELEBA_JPG, CELEBA_PNG, IDX, IDX_GZ, MNIST_NPZ]
FILE_KINDS = [k for k in KINDS if k.dataset != "celeba"]
CELEBA_KINDS = [CELEBA_JPG, CELEBA_PNG]


# ------------------------------------------------------------ helpers
def place(kind: Kind, data_dir: Path, later: bool = False) -> Path:
    """The path of ``kind``'s file under ``data_dir``, its folder made.

    ``later``: for CelebA, a valid image sorts before the bad one, so the
    bad one is found when read rather than when the folder is opened.
    """
    path = data_dir / kind.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    if later and kind.dataset == "celeba":
        write_celeba_image(path.with_name("000000" + path.suffix))
    return path


def load(kind: Kind, data_dir: Path):
    """Loads as ``--dataset`` does, then reads every image (CelebA decodes
    lazily)."""
    source = registry.load_source(kind.dataset, str(data_dir), log=id)
    source.images(np.arange(source.num_examples))
    return source


def assert_refused(kind: Kind, data_dir: Path, path: Path,
                   *fragments: str) -> str:
    """The load raises UserError (any other exception fails the test) with
    one line naming ``path``, what was expected and what to do."""
    with pytest.raises(UserError) as info:
        load(kind, data_dir)
    message = str(info.value)
    assert str(path) in message, message
    assert "\n" not in message, message
    assert re.search("expected", message, re.IGNORECASE), message
    assert re.search(r"replace|remove|put them|free memory", message,
                     re.IGNORECASE), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def workdir():
    return tempfile.TemporaryDirectory(prefix="provlae_bad_input_")


# ------------------------------------------------------------ every kind
@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("compressed", [False, True])
def test_the_valid_files_load(tmp_path, kind, compressed):
    kind.write(place(kind, tmp_path, later=True), compressed)
    source = load(kind, tmp_path)
    assert source.num_examples == (2 if kind.dataset == "celeba" else N)


EMPTY = {DSPRITES: "an empty file", SHAPES3D: "an empty file",
         CELEBA_JPG: "an empty file", CELEBA_PNG: "an empty file",
         IDX: "0 bytes, too short for an IDX header",
         IDX_GZ: "0 bytes, too short for an IDX header",
         MNIST_NPZ: "an empty file"}


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("later", [False, True])
def test_empty_file(tmp_path, kind, later):
    path = place(kind, tmp_path, later)
    path.write_bytes(b"")
    assert_refused(kind, tmp_path, path, EMPTY[kind])


@pytest.mark.parametrize("kind", KINDS, ids=str)
@EXAMPLES
@given(data=st.data(), compressed=st.booleans(), later=st.booleans())
def test_truncated_file(kind, data, compressed, later):
    with workdir() as tmp:
        path = place(kind, Path(tmp), later)
        kind.write(path, compressed)
        whole = path.read_bytes()
        cut = data.draw(st.integers(0, len(whole) - 1), label="cut")
        path.write_bytes(whole[:cut])
        assert_refused(kind, Path(tmp), path)


@pytest.mark.parametrize("kind", KINDS, ids=str)
@EXAMPLES
@given(noise=st.binary(max_size=2048), signed=st.booleans(),
       later=st.booleans())
def test_random_bytes(kind, noise, signed, later):
    """Random bytes, alone or after the format's own magic bytes."""
    with workdir() as tmp:
        path = place(kind, Path(tmp), later)
        path.write_bytes((kind.signature if signed else b"") + noise)
        assert_refused(kind, Path(tmp), path)


@pytest.mark.parametrize("kind", FILE_KINDS, ids=str)
def test_a_folder_where_the_file_should_be(tmp_path, kind):
    path = place(kind, tmp_path)
    path.mkdir()
    assert_refused(kind, tmp_path, path, "a folder, expected a file")


# ------------------------------------------------------------ arrays
DIMS = st.sampled_from([0, 1, 2, 5, 28, 63, 64, 65])


def shapes(good: Callable[[tuple], bool]):
    """Array shapes (up to 4 dimensions, small) that ``good`` rejects."""
    return (st.lists(DIMS, max_size=4).map(tuple)
            .filter(lambda s: int(np.prod(s)) <= 200_000 and not good(s)))


WRONG_DTYPES = st.sampled_from(["float32", "float64", "int8", "int16",
                                "uint16", "int64", "bool", "complex64",
                                "U1", "object"])
FLOAT_FILL = st.sampled_from([0.0, 1.0, np.nan, np.inf, -np.inf])


def filled(shape, dtype: str, value: float) -> np.ndarray:
    """An array of ``dtype`` filled with ``value`` (NaN/Inf where float)."""
    if dtype == "object":
        return np.full(shape, 1, dtype=object)
    if np.dtype(dtype).kind in "fc":
        return np.full(shape, value, dtype)
    return np.ones(shape, dtype)


@EXAMPLES
@given(dtype=WRONG_DTYPES, fill=FLOAT_FILL, compressed=st.booleans())
def test_dsprites_imgs_of_a_wrong_dtype(dtype, fill, compressed):
    with workdir() as tmp:
        path = place(DSPRITES, Path(tmp))
        arrays = dsprites_arrays()
        arrays["imgs"] = filled((N, 64, 64), dtype, fill)
        save_npz(path, compressed, **arrays)
        assert_refused(DSPRITES, Path(tmp), path)


@EXAMPLES
@given(shape=shapes(lambda s: len(s) == 3 and s[1:] == (64, 64)))
def test_dsprites_imgs_of_a_wrong_shape(shape):
    with workdir() as tmp:
        path = place(DSPRITES, Path(tmp))
        arrays = dsprites_arrays()
        arrays["imgs"] = np.zeros(shape, np.uint8)
        save_npz(path, **arrays)
        assert_refused(DSPRITES, Path(tmp), path, "'imgs' is uint8",
                       "expected uint8 (N, 64, 64)")


@FEW
@given(dtype=WRONG_DTYPES.filter(lambda d: d not in ("int8", "int16",
                                                     "int64", "uint16")),
       shape=st.sampled_from([(N, 6), (N + 1, 6), (N, 5), (N,), ()]))
def test_dsprites_latents_classes_wrong(dtype, shape):
    with workdir() as tmp:
        path = place(DSPRITES, Path(tmp))
        arrays = dsprites_arrays()
        arrays["latents_classes"] = filled(shape, dtype, 0.0)
        save_npz(path, **arrays)
        assert_refused(DSPRITES, Path(tmp), path)


@FEW
@given(bad=st.sampled_from([np.nan, np.inf, -np.inf]),
       position=st.integers(0, N * 6 - 1))
def test_dsprites_latents_values_not_finite(bad, position):
    with workdir() as tmp:
        path = place(DSPRITES, Path(tmp))
        arrays = dsprites_arrays()
        arrays["latents_values"].flat[position] = bad
        save_npz(path, **arrays)
        assert_refused(DSPRITES, Path(tmp), path,
                       "'latents_values' holds NaN or infinite values")


@pytest.mark.parametrize("change, fragment", [
    ({"imgs": None}, "no imgs array"),
    ({"latents_classes": None}, "no latents_classes array"),
    ({"imgs": np.zeros((0, 64, 64), np.uint8),
      "latents_classes": np.zeros((0, 6), np.int64),
      "latents_values": np.zeros((0, 6))}, "'imgs' holds no images"),
    ({"imgs": np.full((N, 64, 64), 255, np.uint8)},
     "'imgs' has values up to 255, expected binary 0/1"),
    ({"latents_values": np.zeros((N, 2))}, "'latents_values' is float64"),
])
def test_dsprites_arrays_missing_empty_or_out_of_range(tmp_path, change,
                                                       fragment):
    path = place(DSPRITES, tmp_path)
    arrays = {k: v for k, v in {**dsprites_arrays(), **change}.items()
              if v is not None}
    save_npz(path, **arrays)
    assert_refused(DSPRITES, tmp_path, path, fragment)


@pytest.mark.parametrize("kind", [DSPRITES, MNIST_NPZ], ids=str)
def test_a_single_npy_array_instead_of_an_npz(tmp_path, kind):
    path = place(kind, tmp_path)
    with open(path, "wb") as f:
        np.save(f, np.zeros((N, 64, 64), np.uint8))
    assert_refused(kind, tmp_path, path, "a single .npy array")


@pytest.mark.parametrize("kind", [DSPRITES, MNIST_NPZ], ids=str)
@EXAMPLES
@given(content=st.binary(max_size=512), npy_magic=st.booleans(),
       suffix=st.sampled_from(["", ".npy"]))
def test_an_npz_whose_members_are_not_arrays(kind, content, npy_magic,
                                             suffix):
    """A zip archive holding the right names but random bytes."""
    with workdir() as tmp:
        path = place(kind, Path(tmp))
        names = (["imgs", "latents_classes"] if kind is DSPRITES
                 else ["x_train"])
        with zipfile.ZipFile(path, "w") as archive:
            for name in names:
                archive.writestr(name + suffix, (b"\x93NUMPY" if npy_magic
                                                 else b"") + content)
        assert_refused(kind, Path(tmp), path)


@EXAMPLES
@given(dtype=WRONG_DTYPES.filter(lambda d: d not in ("object", "U1")),
       fill=FLOAT_FILL)
def test_shapes3d_images_of_a_wrong_dtype(dtype, fill):
    with workdir() as tmp:
        path = place(SHAPES3D, Path(tmp))
        write_h5(path, filled((N, 64, 64, 3), dtype, fill), np.zeros((N, 6)))
        assert_refused(SHAPES3D, Path(tmp), path,
                       "expected uint8 (N, 64, 64, 3)")


@EXAMPLES
@given(shape=shapes(lambda s: len(s) == 4 and s[1:] == (64, 64, 3)))
def test_shapes3d_images_of_a_wrong_shape(shape):
    with workdir() as tmp:
        path = place(SHAPES3D, Path(tmp))
        count = shape[0] if shape else 1
        write_h5(path, np.zeros(shape, np.uint8), np.zeros((count, 6)))
        assert_refused(SHAPES3D, Path(tmp), path,
                       "expected uint8 (N, 64, 64, 3)")


@FEW
@given(labels=st.sampled_from([np.zeros((N + 1, 6)), np.zeros((N, 5)),
                               np.zeros(N), np.zeros(()),
                               np.full((N, 6), b"x"),
                               np.zeros((N, 6), np.complex64)]))
def test_shapes3d_labels_of_a_wrong_dtype_or_shape(labels):
    with workdir() as tmp:
        path = place(SHAPES3D, Path(tmp))
        write_h5(path, np.zeros((N, 64, 64, 3), np.uint8), labels)
        assert_refused(SHAPES3D, Path(tmp), path, "'labels' is",
                       f"expected numbers ({N}, 6)")


@EXAMPLES
@given(bad=st.sampled_from([np.nan, np.inf, -np.inf]),
       position=st.integers(0, N * 6 - 1),
       dtype=st.sampled_from(["float16", "float32", "float64"]))
def test_shapes3d_labels_not_finite(bad, position, dtype):
    with workdir() as tmp:
        path = place(SHAPES3D, Path(tmp))
        labels = np.zeros((N, 6), dtype)
        labels.flat[position] = bad
        write_h5(path, np.zeros((N, 64, 64, 3), np.uint8), labels)
        assert_refused(SHAPES3D, Path(tmp), path,
                       "'labels' holds NaN or infinite values")


@pytest.mark.parametrize("layout, fragment", [
    ({"labels": np.zeros((N, 6))}, "no 'images' dataset"),
    ({"images": np.zeros((N, 64, 64, 3), np.uint8)}, "no 'labels' dataset"),
    ({}, "no 'images' or 'labels' dataset"),
    ({"images": np.zeros((0, 64, 64, 3), np.uint8),
      "labels": np.zeros((0, 6))}, "'images' holds no images"),
    ("group", "no 'images' dataset"),
])
def test_shapes3d_datasets_missing_or_empty(tmp_path, layout, fragment):
    path = place(SHAPES3D, tmp_path)
    if layout == "group":  # 'images' is a group, not a dataset
        with h5py.File(path, "w") as f:
            f.create_group("images")
            f.create_dataset("labels", data=np.zeros((N, 6)))
    else:
        write_h5(path, **layout)
    assert_refused(SHAPES3D, tmp_path, path, fragment)


IDX_KINDS = [IDX, IDX_GZ]


@pytest.mark.parametrize("kind", IDX_KINDS, ids=str)
@EXAMPLES
@given(magic=st.one_of(st.sampled_from([2049, 0x0801, 0x0802, 0x0804,
                                        0x0B03, 0x0C03, 0x0D03, 0x0E03]),
                       st.integers(0, 2**32 - 1)).filter(lambda m: m != 2051))
def test_idx_of_another_data_type(kind, magic):
    """The magic number encodes the element type and the dimensions."""
    with workdir() as tmp:
        path = place(kind, Path(tmp))
        write_idx_data(path, idx_bytes(magic=magic))
        assert_refused(kind, Path(tmp), path, f"IDX magic {magic}, expected "
                       "2051")


@pytest.mark.parametrize("kind", IDX_KINDS, ids=str)
@EXAMPLES
@given(count=st.integers(0, 2**32 - 1), rows=st.integers(0, 2**32 - 1),
       cols=st.integers(0, 2**32 - 1), pixels=st.integers(0, 3 * 784 + 5))
def test_idx_header_and_data_disagree(kind, count, rows, cols, pixels):
    """Any header (count, rows, cols) that the data does not match; a huge
    count must not make the loader allocate what it claims."""
    if (rows, cols) == (28, 28) and count and pixels == count * 784:
        return  # a valid file
    with workdir() as tmp:
        path = place(kind, Path(tmp))
        write_idx_data(path, idx_bytes(count, rows, cols, pixels=pixels))
        assert_refused(kind, Path(tmp), path)


@pytest.mark.parametrize("rows, cols, count, pixels, fragment", [
    (32, 32, N, N * 1024, "images of 32 x 32 pixels, expected 28 x 28"),
    (28, 28, 0, 0, "holds no images"),
    (28, 28, N, N * 784 - 1, f"truncated: {N * 784 - 1} of {N * 784}"),
    (28, 28, N, N * 784 + 1, f"more than the {N * 784} pixel bytes"),
])
@pytest.mark.parametrize("kind", IDX_KINDS, ids=str)
def test_idx_shape_and_size_messages(tmp_path, kind, rows, cols, count,
                                     pixels, fragment):
    path = place(kind, tmp_path)
    write_idx_data(path, idx_bytes(count, rows, cols, pixels=pixels))
    assert_refused(kind, tmp_path, path, fragment)


def test_idx_gz_that_is_not_compressed(tmp_path):
    path = place(IDX_GZ, tmp_path)
    path.write_bytes(idx_bytes())
    assert_refused(IDX_GZ, tmp_path, path, "BadGzipFile")


@EXAMPLES
@given(dtype=WRONG_DTYPES, fill=FLOAT_FILL,
       shape=st.sampled_from([(N, 28, 28), (N, 28), (N, 28, 28, 1),
                              (N, 64, 64), ()]),
       name=st.sampled_from(["x_train", "images"]))
def test_mnist_npz_of_a_wrong_dtype_or_shape(dtype, fill, shape, name):
    with workdir() as tmp:
        path = place(MNIST_NPZ, Path(tmp))
        save_npz(path, **{name: filled(shape, dtype, fill)})
        assert_refused(MNIST_NPZ, Path(tmp), path)


@pytest.mark.parametrize("arrays, fragment", [
    ({"x_test": np.zeros((N, 28, 28), np.uint8)},
     "no 'x_train' or 'images' array"),
    ({"x_train": np.zeros((0, 28, 28), np.uint8)}, "holds no images"),
    ({"x_train": np.zeros((N, 32, 32), np.uint8)}, "expected uint8 "
                                                   "(N, 28, 28)"),
])
def test_mnist_npz_missing_or_empty(tmp_path, arrays, fragment):
    path = place(MNIST_NPZ, tmp_path)
    save_npz(path, **arrays)
    assert_refused(MNIST_NPZ, tmp_path, path, fragment)


# ------------------------------------------------------------ CelebA
@pytest.mark.parametrize("kind", CELEBA_KINDS, ids=str)
@EXAMPLES
@given(width=st.integers(1, 300), height=st.integers(1, 300),
       later=st.booleans())
def test_celeba_image_of_a_wrong_size(kind, width, height, later):
    if (width, height) == (178, 218):
        return  # CelebA's size
    with workdir() as tmp:
        path = place(kind, Path(tmp), later)
        write_celeba_image(path, size=(width, height))
        assert_refused(kind, Path(tmp), path,
                       f"a {width} x {height} image", "178 x 218")


@pytest.mark.parametrize("names", [[], ["readme.txt", "list_attr.csv"]])
def test_celeba_folder_without_images(tmp_path, names):
    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("not an image")
    assert_refused(CELEBA_JPG, tmp_path, folder, "no .jpg or .png images")


# ------------------------------------------------------------ command line
_NATIVE_LOG = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log "
                         r"messages before absl::InitializeLog)")


def corrupt_npz(data_dir: Path) -> Path:
    path = place(DSPRITES, data_dir)
    write_dsprites(path, compressed=True)
    path.write_bytes(path.read_bytes()[:-100])
    return path


def corrupt_image(data_dir: Path) -> Path:
    path = place(CELEBA_JPG, data_dir)
    write_celeba_image(path)
    path.write_bytes(path.read_bytes()[:500])
    return path


def test_command_line_refuses_bad_files_in_one_line(tmp_path):
    """Each case through ``python -m provlae_tf.main`` (started together:
    TensorFlow's import dominates): exit 1, one line on stderr naming the
    file, no traceback, nothing written."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    runs = []
    for dataset, corrupt in [("dsprites", corrupt_npz),
                             ("celeba", corrupt_image)]:
        data_dir, run_dir = tmp_path / dataset, tmp_path / f"{dataset}_run"
        path = corrupt(data_dir)
        process = subprocess.Popen(
            [sys.executable, "-m", "provlae_tf.main", f"--dataset={dataset}",
             f"--data_dir={data_dir}", f"--checkpoint_dir={run_dir}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env, cwd=REPO)
        runs.append((process, path, data_dir, run_dir,
                     sorted(data_dir.rglob("*"))))
    for process, path, data_dir, run_dir, before in runs:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 1, stderr
        assert "Traceback" not in stderr
        # TensorFlow's native start-up log lines aside, stderr is one line.
        lines = [line for line in stderr.splitlines()
                 if line.strip() and not _NATIVE_LOG.match(line)]
        assert len(lines) == 1, stderr
        assert lines[0].startswith(f"provlae_tf: {path}: "), lines
        assert not run_dir.exists()
        assert sorted(data_dir.rglob("*")) == before
