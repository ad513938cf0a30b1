"""The posterior-sampling rules of the original: the CelebA network clips
its log-variances after training's draw, and the original's metric code
samples from the clipped log-variances its encoder returns."""

import numpy as np
import pytest
import tensorflow as tf

from provlae_tf.config import ModelConfig
from provlae_tf.data.sources import ArraySource
from provlae_tf.distributions import sample_posterior
from provlae_tf.evaluation.encoding import encode_dataset
from provlae_tf.model.ladder import ProVLAE


@pytest.fixture(scope="module")
def clipping_model():
    # At initialisation the log-variances are near 0: this clip raises every
    # one of them to 0.5, so a sample drawn from the clipped log-variances
    # would differ visibly.
    tf.keras.utils.set_random_seed(0)
    return ProVLAE(ModelConfig("celeba", z_dim=2, channels=3,
                               log_var_clip=(0.5, 3.0)), stage=4)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    return (rng.random((6, 64, 64, 3)) * 255).astype(np.uint8)


def test_sample_posterior_is_the_reparameterisation():
    mean, log_var, noise = np.array([1.0, -2.0]), np.array([0.0, np.log(4.0)]), \
        np.array([0.5, -1.0])
    np.testing.assert_allclose(sample_posterior(mean, log_var, noise),
                               [1.5, -4.0])
    got = sample_posterior(tf.constant(mean), tf.constant(log_var),
                           tf.constant(noise))
    np.testing.assert_allclose(got.numpy(), [1.5, -4.0])


def test_the_model_samples_from_the_unclipped_log_variance(clipping_model,
                                                           images):
    model = clipping_model
    x = tf.constant(images / 255.0, tf.float32)
    eps = [tf.random.stateless_normal([6, 2], [l, 0]) for l in range(4)]
    output = model(x, alpha=1.0, eps=eps)
    raw = model.encode(x, clip=False)
    clipped = model.encode(x)
    for code, (mean, log_var), (_, clipped_var), noise in zip(
            output.ladders, raw, clipped, eps):
        assert not np.allclose(log_var.numpy(), clipped_var.numpy())
        np.testing.assert_allclose(code.log_var.numpy(), clipped_var.numpy())
        expected = mean.numpy() + np.sqrt(np.exp(log_var.numpy())) \
            * noise.numpy()
        np.testing.assert_allclose(code.sample.numpy(), expected,
                                   rtol=1e-5, atol=1e-6)


def test_metrics_sample_from_the_clipped_log_variances(clipping_model,
                                                       images):
    """The original's metric code samples from what its ``transform``
    returns: the log-variances after the clip (unlike training)."""
    model = clipping_model
    source = ArraySource("test", images, max_value=255)
    encoded = encode_dataset(model, source, np.random.default_rng(7),
                             batch_size=4)
    noise = np.random.default_rng(7).standard_normal(encoded.means.shape)
    x = tf.constant(images / 255.0, tf.float32)
    raw = np.concatenate([v.numpy() for _, v in model.encode(x, clip=False)],
                         axis=1)
    clipped = np.concatenate([v.numpy() for _, v in model.encode(x)], axis=1)
    np.testing.assert_allclose(encoded.log_vars, clipped, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        encoded.samples, encoded.means + np.exp(0.5 * clipped) * noise,
        rtol=1e-5, atol=1e-6)
    # The clip bites on these images, so sampling from the unclipped
    # log-variances (as training does) would differ.
    wrong = encoded.means + np.exp(0.5 * raw) * noise
    assert np.abs(encoded.samples - wrong).max() > 1e-3
