"""The visual results library (provlae_tf.viz): files, sizes, codes, seeds."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from PIL import Image

from provlae_tf import viz
from provlae_tf.config import ModelConfig
from provlae_tf.fileio import load_json
from provlae_tf.data.base import ImageSource
from provlae_tf.model.ladder import ProVLAE
from provlae_tf.train.run_log import write_scalar
from provlae_tf.viz import encode_decode, images, plots, resampling, tensorboard
from provlae_tf.viz import traversals

Z_DIM = 2


class RandomImages(ImageSource):
    """A few random binary (grey) or 0..255 (colour) images in memory."""

    def __init__(self, channels: int, n: int = 40, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.max_value = 1 if channels == 1 else 255
        self.image_shape = (64, 64, channels)
        self.name = "random"
        self._data = rng.integers(0, self.max_value + 1, (n, 64, 64, channels),
                                  dtype=np.uint8)

    @property
    def num_examples(self):
        return len(self._data)

    def images(self, indices):
        return self._data[np.asarray(indices)]


def _model(channels: int) -> ProVLAE:
    keras.utils.set_random_seed(0)
    return ProVLAE(ModelConfig("small", z_dim=Z_DIM, channels=channels),
                   stage=3)


@pytest.fixture(scope="module")
def grey():
    return _model(1), RandomImages(1)


@pytest.fixture(scope="module")
def colour():
    return _model(3), RandomImages(3)


# ------------------------------------------------------------------ images
def test_grid_layout_and_padding():
    tiles = np.zeros((5, 4, 3, 1), np.float32)
    out = images.grid(tiles, rows=2, cols=3, pad=2, pad_value=1.0)
    assert out.shape == (2 * 4 + 3 * 2, 3 * 3 + 4 * 2, 1)
    assert out[2:6, 2:5].max() == 0.0  # first cell
    assert out[8:12, 12:15].min() == 1.0  # sixth cell is empty: padding
    with pytest.raises(ValueError):
        images.grid(np.zeros((7, 4, 3, 1)), 2, 3)


@pytest.mark.parametrize("channels, mode", [(1, "L"), (3, "RGB")])
def test_png_mode_and_clipping(tmp_path, channels, mode):
    image = np.linspace(-1.0, 2.0, 8 * 6 * channels).reshape(8, 6, channels)
    path = images.save_png(str(tmp_path / "x.png"), image)
    with Image.open(path) as read:
        assert read.mode == mode and read.size == (6, 8)
        pixels = np.asarray(read).reshape(8, 6, channels)
    np.testing.assert_array_equal(pixels, images.to_uint8(image))
    assert pixels.min() == 0 and pixels.max() == 255
    assert pixels.reshape(-1)[0] == 0 and pixels.reshape(-1)[-1] == 255
    assert not glob.glob(str(tmp_path / ".tmp-*"))  # the temp file is gone


def test_gif_keeps_identical_frames(tmp_path):
    frames = [np.full((10, 12, 1), 0.5)] * 9  # e.g. an inactive ladder
    path = images.save_gif(str(tmp_path / "x.gif"), frames, duration_ms=50)
    with Image.open(path) as read:
        assert read.n_frames == 9 and read.size == (12, 14)  # + position bar


# ------------------------------------------------------------------ codes
def test_traversal_codes_change_only_that_latent():
    base = [np.array([0.1, 0.2]), np.array([0.3, 0.4]), np.array([0.5, 0.6])]
    latent = traversals.Latent(ladder=2, dim=1)
    frames = traversals.traversal_codes(base, latent)
    assert len(frames) == 9
    for value, code in zip(np.linspace(-2.5, 2.5, 9), frames):
        expected = [b.copy() for b in base]
        expected[1][1] = value
        for got, want in zip(code, expected):
            np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_array_equal(base[1], [0.3, 0.4])  # base untouched


def test_traverse_feeds_the_decoder_one_latent_at_a_time(grey, monkeypatch):
    model, _ = grey
    seen = []

    def fake_decode(_, batches, batch_size=128):
        seen.append([np.array(b) for b in batches])
        return np.zeros((len(batches[0]), 64, 64, 1), np.float32)

    monkeypatch.setattr(encode_decode, "decode_images", fake_decode)
    base = [np.full(Z_DIM, 0.25 * l, np.float32) for l in range(1, 4)]
    result = traversals.traverse(model, base, [np.ones(Z_DIM)] * 3)
    flat = np.concatenate(seen[0], axis=1).reshape(len(result), 9, 3 * Z_DIM)
    order = traversals.latent_order(3, Z_DIM)
    assert [t.latent for t in result] == order
    assert order[0] == traversals.Latent(3, 0)  # top ladder first
    for latent, sweep in zip(order, flat):
        column = (latent.ladder - 1) * Z_DIM + latent.dim
        changed = np.nonzero(sweep.max(axis=0) != sweep.min(axis=0))[0]
        assert changed.tolist() == [column]
        np.testing.assert_allclose(sweep[:, column], np.linspace(-2.5, 2.5, 9))


def test_resampling_codes_differ_only_in_that_ladder():
    base = [np.zeros(Z_DIM), np.ones(Z_DIM), np.full(Z_DIM, 2.0)]
    batch = resampling.resampling_codes(base, 2, np.random.default_rng(0))
    assert [b.shape for b in batch] == [(64, Z_DIM)] * 3
    np.testing.assert_array_equal(batch[0], 0.0)
    np.testing.assert_array_equal(batch[2], 2.0)
    assert len(np.unique(batch[1][:, 0])) == 64


def test_resampling_codes_are_prior_draws_seeded_by_the_stream():
    base = [np.zeros(Z_DIM), np.ones(Z_DIM), np.full(Z_DIM, 2.0)]
    batch = resampling.resampling_codes(base, 3, np.random.default_rng(9))
    # An independent draw: TensorFlow's stateless normal (the prior is
    # N(0, I)) seeded by the pair the stream gives first.
    pair = np.random.default_rng(9).integers(
        -2 ** 31, 2 ** 31 - 1, size=2, endpoint=True, dtype=np.int32)
    np.testing.assert_array_equal(
        batch[2], tf.random.stateless_normal([64, Z_DIM], seed=pair).numpy())
    assert batch[2].dtype == np.float32


def test_resampling_codes_follow_the_prior():
    n = 20000
    base = [np.full(Z_DIM, 5.0), np.full(Z_DIM, 5.0)]
    codes = resampling.resampling_codes(base, 1, np.random.default_rng(2),
                                        count=n)[0].astype(np.float64)
    # Five standard errors: the mean's is 1/sqrt(n), the variance's
    # sqrt(2/n) for normal draws.
    np.testing.assert_allclose(codes.mean(axis=0), 0.0,
                               atol=5 / np.sqrt(n))
    np.testing.assert_allclose(codes.var(axis=0), 1.0,
                               atol=5 * np.sqrt(2 / n))
    assert np.corrcoef(codes.T)[0, 1] == pytest.approx(0.0,
                                                       abs=5 / np.sqrt(n))


def test_selection_and_code_from_mean(grey):
    model, source = grey
    variances = [np.array([0.1, 0.5]), np.array([0.3, 0.19]), np.ones(2)]
    assert traversals.selected_latents(variances) == [
        traversals.Latent(2, 1), traversals.Latent(1, 0)]
    x = encode_decode.load_images(source, [3])
    code, _ = encode_decode.image_code(model, x[0], np.random.default_rng(0), "mean")
    for got, (mean, _) in zip(code, model.encode(x)):
        np.testing.assert_allclose(got, mean.numpy()[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        encode_decode.image_code(model, x[0], np.random.default_rng(0), "mode")


# ------------------------------------------------------------------ report
def _sizes(out_dir):
    found = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "*.*"))):
        if path.endswith((".png", ".gif")):
            with Image.open(path) as read:
                found[os.path.basename(path)] = (
                    read.size, read.mode, getattr(read, "n_frames", 1))
    return found


def test_visualize_grey_files_and_determinism(grey, tmp_path):
    model, source = grey
    first = viz.visualize(model, source, str(tmp_path / "a"), seed=3,
                          max_eval_images=16, log=lambda _: None)
    sizes = _sizes(tmp_path / "a")
    latents = [f"ladder{l}_z{d}" for l in (1, 2, 3) for d in range(Z_DIM)]
    assert set(sizes) == ({"reconstructions.png", "traverse_all.png",
                           "traverse_all.gif"}
                          | {f"traverse_{n}.{e}" for n in latents
                             for e in ("png", "gif")}
                          | {f"resample_ladder{l}.png" for l in (1, 2, 3)})
    assert sizes["reconstructions.png"] == ((662, 134), "L", 1)
    assert sizes["traverse_ladder3_z0.png"] == ((596, 68), "L", 1)
    assert sizes["traverse_ladder3_z0.gif"][::2] == ((64, 68), 9)
    assert sizes["traverse_all.png"] == ((48 + 596, 6 * 66 + 2), "L", 1)
    assert sizes["traverse_all.gif"][::2] == ((48 + 68, 6 * 66 + 2 + 4), 9)
    assert sizes["resample_ladder1.png"] == ((530, 530), "L", 1)
    summary = load_json(first["paths"]["summary.json"])
    assert summary == first["summary"]
    assert set(summary["posterior_variance"]) == set(latents)
    assert summary["losses"]["num_images"] == 16
    assert len(summary["losses"]["kl"]) == 3

    viz.visualize(model, source, str(tmp_path / "b"), seed=3,
                  max_eval_images=16, log=lambda _: None)
    for name in sizes:
        with open(tmp_path / "a" / name, "rb") as a, \
                open(tmp_path / "b" / name, "rb") as b:
            assert a.read() == b.read(), name
    with pytest.raises(ValueError):
        viz.visualize(model, source, str(tmp_path / "c"), traverse_image=40)


def test_visualize_colour_writes_rgb(colour, tmp_path):
    model, source = colour
    viz.visualize(model, source, str(tmp_path), traverse_from="mean",
                  max_eval_images=8, log=lambda _: None)
    sizes = _sizes(tmp_path)
    assert sizes["reconstructions.png"] == ((662, 134), "RGB", 1)
    assert sizes["traverse_all.png"][1] == "RGB"
    assert sizes["resample_ladder2.png"] == ((530, 530), "RGB", 1)
    with Image.open(tmp_path / "traverse_all.gif") as gif:
        assert gif.n_frames == 9
        assert gif.convert("RGB").size == sizes["traverse_all.gif"][0]


def test_evaluate_losses(grey):
    model, source = grey
    calls = []
    small = viz.evaluate_losses(model, source, batch_size=7,
                                progress=lambda d, t: calls.append((d, t)))
    large = viz.evaluate_losses(model, source, batch_size=64)
    assert calls[-1] == (40, 40) and len(calls) == 6
    np.testing.assert_allclose(small["kl"], large["kl"], rtol=1e-5)
    assert small["num_images"] == 40 and np.isfinite(small["reconstruction"])
    x = encode_decode.load_images(source, np.arange(40))
    kl = [float(tf.reduce_mean(0.5 * tf.reduce_sum(
        tf.exp(v) + m ** 2 - 1 - v, axis=1))) for m, v in model.encode(x)]
    np.testing.assert_allclose(small["kl"], kl, rtol=1e-4)


def test_original_gif_frames_order_and_count():
    """The original reverses its list of ladder 1..L, dims in order: the top
    ladder first, each ladder's dims last to first; 8 of the 9 values."""
    from provlae_tf.viz.traversals import (Latent, Traversal,
                                           original_gif_frames)
    sweeps = []
    for ladder in (3, 2, 1):  # our order: top ladder first, dims in order
        for dim in (0, 1):
            frames = np.stack([np.full((2, 2, 1), 10 * ladder + dim + v / 100)
                               for v in range(9)])
            sweeps.append(Traversal(Latent(ladder, dim), frames, 0.0, False))
    frames = original_gif_frames(sweeps)
    assert len(frames) == 8
    for v, frame in enumerate(frames):
        assert frame.shape == (2, 12, 1)
        ids = np.round(frame[0, ::2, 0] - v / 100).astype(int).tolist()
        assert ids == [31, 30, 21, 20, 11, 10]


def test_evaluate_losses_as_the_original_leaves_out_the_last_batch(grey):
    """The original's mode 2: full batches of its --batch_size only, summed
    and divided by every image (40 images in batches of 16: 8 left out)."""
    model, source = grey
    result = viz.evaluate_losses(model, source, batch_size=16,
                                 mean="original")
    assert (result["num_images"], result["images_evaluated"]) == (40, 32)
    x = encode_decode.load_images(source, np.arange(40))
    per_image = np.stack([0.5 * tf.reduce_sum(
        tf.exp(v) + m ** 2 - 1 - v, axis=1).numpy()
        for m, v in model.encode(x)], axis=1)  # (40, ladders)
    np.testing.assert_allclose(result["kl"], per_image[:32].sum(0) / 40,
                               rtol=1e-4)
    exact = viz.evaluate_losses(model, source, batch_size=16)
    assert exact["images_evaluated"] == 40
    np.testing.assert_allclose(exact["kl"], per_image.mean(0), rtol=1e-4)


# ------------------------------------------------------------- tensorboard
@pytest.mark.parametrize("channels", [1, 3])
def test_tensorboard_image_round_trip(tmp_path, channels):
    image = np.random.default_rng(0).random((20, 30, channels)) * 1.4 - 0.2
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        assert viz.write_image("test/picture", image, step=5)
    writer.close()
    (event_file,) = glob.glob(str(tmp_path / "events.out.tfevents.*"))
    ((step, pixels),) = tensorboard.read_images(event_file, "test/picture")
    assert step == 5
    np.testing.assert_array_equal(pixels, images.to_uint8(image))
    for event in tf.compat.v1.train.summary_iterator(event_file):
        for value in event.summary.value:
            assert value.metadata.plugin_data.plugin_name == "images"
            assert tf.make_ndarray(value.tensor)[:2].tolist() == [b"30", b"20"]


def test_write_stage_end(grey, tmp_path):
    model, source = grey
    writer = tf.summary.create_file_writer(str(tmp_path / "tb"))
    paths = viz.write_stage_end(model, source, str(tmp_path), stage=3,
                                summary_writer=writer, step=11)
    writer.close()
    latents = [f"ladder{l}_z{d}" for l in (1, 2, 3) for d in (0, 1)]
    per_latent = {f"stage3/traverse_{name}.{ext}" for name in latents
                  for ext in ("png", "gif")}
    assert set(paths) == {"stage3_resample_ladder1.png",
                          "stage3_resample_ladder2.png",
                          "stage3_resample_ladder3.png",
                          "stage3_traversal.png", "all_z_step3.gif",
                          "stage3/traverse_all.png",
                          "stage3/traverse_all.gif"} | per_latent
    for name in paths:
        assert (tmp_path / name).is_file(), name
    # The original's combined GIF: 8 frames of every latent side by side.
    with Image.open(paths["all_z_step3.gif"]) as gif:
        assert gif.n_frames == 8
        assert gif.size[0] == 6 * 64
    found = viz.stage_end_images(model, source)
    with Image.open(paths["stage3_traversal.png"]) as read:
        assert read.size == found["traversal"].shape[1::-1]
    (event_file,) = glob.glob(str(tmp_path / "tb" / "events.out.tfevents.*"))
    ((step, pixels),) = tensorboard.read_images(event_file,
                                                "stage_end/traversal")
    assert step == 11 and pixels.shape == found["traversal"].shape


# ------------------------------------------------------------------ plots
def test_plots_from_event_files(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "tb"))
    with writer.as_default():
        for step in range(0, 60, 5):
            stage = 1 + step // 20
            write_scalar("loss/reconstruction", 100.0 - step, step)
            for ladder in (1, 2, 3):
                write_scalar(f"kl/ladder{ladder}", step * 0.1 * ladder, step)
            write_scalar("schedule/alpha", min(1.0, (step % 20) / 10), step)
            write_scalar("schedule/stage", stage, step)
    writer.close()
    records = plots.read_training_records(str(tmp_path))
    assert [r.step for r in records] == list(range(0, 60, 5))
    assert records[5] == plots.TrainingRecord(
        25, 2, 75.0, pytest.approx((2.5, 5.0, 7.5)), 0.5)
    outputs = [
        plots.plot_training_curves(records, str(tmp_path / "curves.png")),
        plots.plot_information_flow(
            {1: [0.1, 0.2, 5.0], 2: [0.1, 3.0, 5.0], 3: [2.0, 3.0, 5.0]},
            str(tmp_path / "flow.png"),
            mutual_information={1: [0, 0, 4.0], 3: [1.5, 2.5, 4.0]}),
        plots.plot_mi_matrix(np.random.default_rng(0).random((4, 6)),
                             ["scale", "orientation", "x", "y"], Z_DIM, 3,
                             str(tmp_path / "mi.png")),
    ]
    for path in outputs:
        with Image.open(path) as read:
            assert read.format == "PNG" and min(read.size) > 200
        assert os.path.getsize(path) > 10_000
