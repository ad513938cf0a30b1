"""The pro-VLAE ladder model: encoder trunk, per-ladder heads, ladder decoder.

The whole L-ladder network exists at every stage, as in the original; the
stage only changes masks and fade multipliers (and, in the trainer, loss
weights). The stage is a Python int: inside a ``tf.function`` it is part of
the trace key, so adding a ladder traces the graph once more.

By default the decoder skips the work that the original multiplies by zero
(inactive ladders' z-branches, see :meth:`ProVLAE.decoder_maps`);
``exact_zero_branches=True`` computes it as the original does.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from provlae_tf import distributions
from provlae_tf.config import ModelConfig
from provlae_tf.datasets import IMAGE_SIZE
from provlae_tf.model.architectures import ARCHITECTURES, BUILDERS
from provlae_tf.model import stages



class LadderCode(NamedTuple):
    """One ladder's posterior and sample: tensors of shape (batch, z_dim)."""

    mean: tf.Tensor
    log_var: tf.Tensor
    sample: tf.Tensor


class ModelOutput(NamedTuple):
    """The model's forward pass: ladders 1..L (bottom first) and pixel logits."""

    ladders: tuple
    logits: tf.Tensor


class ProVLAE(keras.Model):
    """The progressive variational ladder autoencoder (pro-VLAE).

    Args:
        config: the :class:`ModelConfig`.
        stage: the progressive stage 1..L; stage s activates ladders
            L..L-s+1. Change it with :meth:`set_stage`.
        exact_zero_branches: compute inactive ladders' decoder z-branches
            and multiply them by 0, as the original does. By default that
            work is skipped; the results are equal within float rounding.

    Example:
        >>> model = ProVLAE(ModelConfig("small", z_dim=2, channels=1), stage=3)
        >>> codes = model.encode(images)            # [(mean, log_var)] * 3
        >>> logits = model.decode([m for m, _ in codes])
    """

    def __init__(self, config: ModelConfig, stage: int = 1,
                 exact_zero_branches: bool = False, **kwargs):
        super().__init__(name="vae_ladder", **kwargs)
        self.config = config
        self.exact_zero_branches = bool(exact_zero_branches)
        self.architecture = ARCHITECTURES[config.architecture]
        self._build_scopes()
        self.stage = 1
        self.set_stage(stage)
        self._build_variables()

    def _build_scopes(self) -> None:
        config = self.config
        trunk, heads, gens, pixels = BUILDERS[config.architecture](
            config.z_dim, config.channels, config.bn_epsilon)
        levels = range(1, len(trunk) + 1)
        # Lists indexed by ladder - 1 (checkpoints need string-keyed or list
        # containers).
        self.trunk = trunk
        self.heads = [heads[l] for l in levels]
        self.generators = [gens[l] for l in levels]
        self.pixels = pixels

    @property
    def num_ladders(self) -> int:
        return self.config.num_ladders

    def set_stage(self, stage: int) -> None:
        """Sets the progressive stage used when no stage is passed explicitly."""
        stages.active_ladders(stage, self.num_ladders)  # validates
        self.stage = int(stage)

    def zero_branch_skip_gap(self) -> Optional[str]:
        """Why this network needs the exact zero-multiplying path (None when
        every generator below the top can skip its z-branch)."""
        gaps = [g.skip_gap() for g in self.generators[:-1]]
        return next((gap for gap in gaps if gap is not None), None)

    def _build_variables(self) -> None:
        x = tf.zeros([1, IMAGE_SIZE, IMAGE_SIZE, self.config.channels])
        self(x, stage=self.num_ladders,
             eps=[tf.zeros([1, self.config.latents_per_ladder])]
             * self.num_ladders, exact=True)

    # ------------------------------------------------------------------ encoder
    # Reference: docs/original.md#fade-in
    # Reference: docs/original.md#celeba-encoder-fade
    def _encode_raw(self, x, alpha, stage: int):
        """Posterior means and unclipped log-variances, ladders 1..L."""
        faded = stages.encoder_fade_ladder(
            stage, self.num_ladders,
            self.architecture.encoder_fade_off_by_one
            and not self.config.fix_encoder_fade)
        outputs = []
        for ladder, h in enumerate(self.trunk_features(x), start=1):
            head_input = h * self._as_compute(alpha) if ladder == faded \
                else h
            outputs.append(self.heads[ladder - 1](head_input))
        return outputs

    def trunk_features(self, x) -> list:
        """The encoder trunk's feature maps h_1..h_L."""
        features, h = [], x
        for block in self.trunk:
            h = block(h)
            features.append(h)
        return features

    # Reference: docs/original.md#log-variance-clip
    def clip_log_var(self, log_var):
        """The architecture's clip of the log-variances (identity if none)."""
        if not self.architecture.clips_log_var:
            return log_var
        return tf.clip_by_value(log_var, *self.config.log_var_clip)

    def encode(self, x, alpha=1.0, stage: Optional[int] = None,
               clip: bool = True):
        """Encodes images to per-ladder posterior parameters.

        Args:
            x: float images in [0, 1], shape (batch, 64, 64, channels).
            alpha: fade-in coefficient (evaluation uses 1).
            stage: defaults to the model's stage.
            clip: clip the log-variances as the architecture prescribes
                (what the KL sees); False gives the unclipped ones that
                the samples are drawn with.

        Returns:
            A list over ladders 1..L of (mean, log_var) tensors (batch, z_dim).
        """
        stage = self.stage if stage is None else stage
        x = self._as_compute(x)
        clip_fn = self.clip_log_var if clip else (lambda log_var: log_var)
        return [(mean, clip_fn(log_var))
                for mean, log_var in self._encode_raw(x, alpha, stage)]

    # ------------------------------------------------------------------ decoder
    def decode(self, codes: Sequence, alpha=1.0, stage: Optional[int] = None,
               exact: Optional[bool] = None):
        """Decodes one code per ladder (ladder 1 first) to pixel logits.

        Ladders that are inactive at the stage contribute nothing, as in the
        original (which multiplies them by zero); their codes must still be
        given (any finite value; see :meth:`decoder_maps`).
        """
        return self.pixels(self.decoder_maps(codes, alpha, stage, exact)[1])

    # Reference: docs/original.md#progressive-stages
    # Reference: docs/original.md#zero-branch-skipping
    def decoder_maps(self, codes: Sequence, alpha=1.0,
                     stage: Optional[int] = None,
                     exact: Optional[bool] = None) -> dict:
        """The decoder's feature maps ``{l: g_l}`` for ladders L..1.

        Args:
            codes: one code per ladder, ladder 1 first.
            alpha: the fade-in coefficient of the ladder switching on.
            stage: defaults to the model's stage.
            exact: multiply inactive ladders' z-branches by 0 as the
                original does (True), or skip that work (False); defaults
                to the model's ``exact_zero_branches``. Both give the same
                maps within float rounding, and a non-finite code of an
                inactive ladder makes that image's output NaN in both.
        """
        stage = self.stage if stage is None else stage
        exact = self.exact_zero_branches if exact is None else exact
        exact = exact or self.zero_branch_skip_gap() is not None
        codes = [self._as_compute(c) for c in codes]
        if len(codes) != self.num_ladders:
            raise ValueError(f"decode needs {self.num_ladders} codes (one per "
                             f"ladder, ladder 1 first), got {len(codes)}")
        kinds = stages.decoder_multiplier_kinds(stage, self.num_ladders)
        top = self.num_ladders
        off = [l for l in range(1, top) if kinds[l] == "off"]
        if off and not exact:
            # 0 * (a non-finite code) is NaN in the original's product and
            # reaches every output of that image; a per-image 0 (NaN for a
            # non-finite code) added to the top code does the same.
            codes[top - 1] = codes[top - 1] + tf.add_n([
                tf.reduce_sum(codes[l - 1] * 0.0, axis=-1, keepdims=True)
                for l in off])
        maps = {top: self.generators[top - 1](codes[top - 1])}
        for ladder in range(top - 1, 0, -1):
            generator = self.generators[ladder - 1]
            if kinds[ladder] == "off" and not exact:
                maps[ladder] = generator.from_above(maps[ladder + 1])
                continue
            multiplier = {"off": 0.0, "fade": self._as_compute(alpha),
                          "on": None}[kinds[ladder]]
            maps[ladder] = generator(
                codes[ladder - 1], above=maps[ladder + 1], multiplier=multiplier)
        return maps

    # ------------------------------------------------------------------ forward
    def call(self, x, alpha=1.0, stage: Optional[int] = None, eps=None,
             seed=None, training=None, exact: Optional[bool] = None):
        """Encodes, samples with the reparameterisation, decodes.

        Args:
            x: float images (batch, 64, 64, channels).
            alpha: fade-in coefficient.
            stage: defaults to the model's stage.
            eps: optional list of standard-normal noise per ladder.
            seed: optional stateless seed (shape [2]) used when eps is None.
            exact: see :meth:`decoder_maps`.

        Returns:
            :class:`ModelOutput`.
        """
        # Reference: docs/original.md#frozen-batch-norm
        del training  # "BN" is frozen, dropout absent.
        stage = self.stage if stage is None else stage
        raw = self._encode_raw(self._as_compute(x), alpha, stage)
        if eps is None:
            eps = self.noise(tf.shape(x)[0], seed)
        ladders = []
        for (mean, log_var), noise in zip(raw, eps):
            # Reference: docs/original.md#log-variance-clip
            # The sample uses the unclipped log-variance; the clip (CelebA)
            # reaches only the KL and the returned log-variances.
            sample = distributions.sample_posterior(
                mean, log_var, tf.cast(noise, mean.dtype))
            ladders.append(
                LadderCode(mean, self.clip_log_var(log_var), sample))
        logits = self.decode([c.sample for c in ladders], alpha, stage, exact)
        return ModelOutput(tuple(ladders), logits)

    def _as_compute(self, value):
        """``value`` as a tensor of the layers' compute dtype: float32 (then
        a float32 tensor passes unchanged), or float16/bfloat16 under a
        Keras mixed-precision policy."""
        return tf.cast(value, self.compute_dtype)

    # Reference: docs/original.md#sampling-noise
    def noise(self, batch_size, seed=None) -> list:
        """Standard-normal noise per ladder; stateless when ``seed`` is given."""
        shape = tf.stack([self.num_ladders, batch_size,
                          self.config.latents_per_ladder])
        if seed is None:
            return tf.unstack(tf.random.normal(shape), self.num_ladders)
        return tf.unstack(tf.random.stateless_normal(shape, seed),
                          self.num_ladders)


def count_trainable_parameters(model: keras.Model) -> int:
    """Number of scalar trainable parameters."""
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))


class MacCount(NamedTuple):
    """Multiply-accumulates per image of one training step's layers.

    ``forward`` counts the convolutions, transposed convolutions and dense
    layers (element-wise work is left out); ``backward`` their gradients:
    one product for the weights and one for the input of every layer,
    except the input of the first convolution (the images).
    """

    forward: int
    backward: int

    @property
    def step(self) -> int:
        return self.forward + self.backward


# Reference: docs/original.md#zero-branch-skipping
def count_macs(model: ProVLAE, stage: int, exact: bool) -> MacCount:
    """Multiply-accumulates per image of ``model``'s training step at ``stage``.

    Counted from the layers' kernel shapes and feature-map sizes; ``exact``
    counts the original's zero-multiplied branches, otherwise the work the
    default path does (inactive z-branches and kernel blocks skipped).
    """
    kinds = stages.decoder_multiplier_kinds(stage, model.num_ladders)
    size, forward, first = (IMAGE_SIZE, IMAGE_SIZE), 0, None
    for ladder, block in enumerate(model.trunk, start=1):
        macs, out_size = block.macs(size)
        first = macs if first is None else first
        forward += macs + model.heads[ladder - 1].macs(out_size)
        size = out_size
    for ladder in range(model.num_ladders, 0, -1):
        skip = not exact and kinds.get(ladder) == "off"
        macs, size = model.generators[ladder - 1].macs(skip_z=skip)
        forward += macs
    forward += model.pixels.macs(size)
    return MacCount(forward, 2 * forward - first)
