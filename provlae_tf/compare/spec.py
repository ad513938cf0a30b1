"""What both sides of a comparison agree on: the network, the recipe, the
inputs, and the names of the results.

NumPy only: the original's child process imports this module too (never our
model code, nor TensorFlow 2).

A result is a flat ``{name: array}`` for one (stage, alpha):

- ``z_mean{l}``, ``z_logvar{l}``: the posterior of ladder l = 1..L (the
  log-variance as the model returns it: clipped in the CelebA network);
- ``logits``: the decoder's logits when every ladder's code is its mean;
- ``reconstr_loss``, ``kl{l}``, ``loss``: the loss terms with the given
  noise (``loss`` weighted as the stage's training loss);
- ``post_reconstr_loss``, ``post_kl{l}``, ``post_loss``: the same after one
  Adam step on those images and that noise;
- ``grad/<variable>``: the gradient of that step for every trainable
  variable (original names);
- ``state/<original name>``: every variable of the original checkpoint
  after that step (model variables, moving statistics, Adam slots
  ``<var>/Adam`` and ``<var>/Adam_1``, ``beta1_power``, ``beta2_power``).

Gradients and state are whole, or at sampled positions (:func:`positions`).
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from typing import Optional, Sequence

import numpy as np

from provlae_tf.config import NUM_LADDERS

IMAGE_SIZE = 64
STATE = "state/"
GRAD = "grad/"
# Reference: docs/original.md#tf1-adam
# The original's Adam (tf.train.AdamOptimizer's defaults): beta1, beta2,
# epsilon; the checkpoint holds none of them.
ADAM = (0.9, 0.999, 1e-8)


@dataclasses.dataclass(frozen=True)
class Network:
    """The shape of a pro-VLAE network (read off a checkpoint)."""

    architecture: str
    z_dim: int
    channels: int

    @property
    def num_ladders(self) -> int:
        return NUM_LADDERS[self.architecture]

    def describe(self) -> str:
        return (f"{self.architecture} network, z_dim {self.z_dim}, "
                f"{self.channels} channel{'s' if self.channels > 1 else ''}")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The training settings a checkpoint does not hold (both sides get the
    same ones). Adam's betas and epsilon are the original's fixed ones."""

    beta: float = 1.0
    coff: float = 0.5
    pre_kl: bool = True
    fade_in: bool = True
    learning_rate: float = 5e-4
    fade_in_duration: int = 5000

    def describe(self) -> str:
        return (f"beta {self.beta:g}, coff {self.coff:g}, KL "
                f"{'on' if self.pre_kl else 'off'}, fade-in "
                f"{'on' if self.fade_in else 'off'}, learning rate "
                f"{self.learning_rate:g}")


@dataclasses.dataclass
class Inputs:
    """The images and the standard-normal noise fed to both sides.

    Attributes:
        x: float32 images in [0, 1], shape (batch, 64, 64, channels).
        eps: per ladder 1..L, float32 noise of shape (batch, z_dim).
    """

    x: np.ndarray
    eps: list

    def save(self, path: str) -> str:
        save_arrays(path, {"x": self.x, **{f"eps{l}": e for l, e
                                           in enumerate(self.eps, start=1)}})
        return path

    @classmethod
    def load(cls, path: str) -> "Inputs":
        arrays = load_arrays(path)
        count = sum(1 for k in arrays if k.startswith("eps"))
        return cls(arrays["x"], [arrays[f"eps{l}"]
                                 for l in range(1, count + 1)])


def alphas_for(stage: int, fade_alpha: float) -> list[float]:
    """The fade-in coefficients compared at ``stage``: 1, and the fade
    alpha from stage 2 on (nothing fades at stage 1)."""
    if stage == 1 or fade_alpha == 1.0:
        return [1.0]
    return [1.0, float(fade_alpha)]


def alpha_tag(alpha: float) -> str:
    """``1.0`` -> ``"a1"``, ``0.3`` -> ``"a0.3"`` (file and key names)."""
    return f"a{alpha:g}"


def result_path(directory: str, stage: int, alpha: float) -> str:
    return os.path.join(directory, f"stage{stage}_{alpha_tag(alpha)}.npz")


def loss_names(num_ladders: int, prefix: str = "") -> list[str]:
    """``reconstr_loss``, ``kl1..klL``, ``loss`` (with a prefix, e.g. post_)."""
    return ([f"{prefix}reconstr_loss"]
            + [f"{prefix}kl{l}" for l in range(1, num_ladders + 1)]
            + [f"{prefix}loss"])


def positions(name: str, size: int, elements: int) -> Optional[np.ndarray]:
    """The flat positions of a tensor that are compared: None (all of
    them) when ``elements`` is 0 or the tensor is that small, else
    ``elements`` sorted positions drawn from a generator seeded by the
    variable's name, so that both processes pick the same ones, and a
    variable, its gradient and its Adam slots the same positions."""
    if elements <= 0 or size <= elements:
        return None
    variable = name.split(":", 1)[0]
    for suffix in ("/Adam_1", "/Adam"):
        variable = variable[:-len(suffix)] if variable.endswith(suffix) \
            else variable
    rng = np.random.default_rng(zlib.crc32(variable.encode()))
    return np.sort(rng.choice(size, elements, replace=False))


def sampled(name: str, array: np.ndarray, elements: int) -> np.ndarray:
    """``array`` whole, or its values at :func:`positions`."""
    array = np.asarray(array)
    where = positions(name, array.size, elements)
    return array if where is None else array.reshape(-1)[where]


def save_arrays(path: str, arrays: dict) -> str:
    """Writes ``{name: array}`` uncompressed (names may contain '/')."""
    with open(path, "wb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
    return path


def load_arrays(path: str) -> dict:
    """Reads every array of a file :func:`save_arrays` wrote."""
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def random_images(count: int, channels: int, seed: int,
                  stream: Sequence[int] = ()) -> np.ndarray:
    """Seeded random binary images (each pixel 1 with probability 0.25),
    float32 of shape (count, 64, 64, channels)."""
    rng = np.random.default_rng([seed, *stream])
    return (rng.random((count, IMAGE_SIZE, IMAGE_SIZE, channels))
            < 0.25).astype(np.float32)


def random_noise(count: int, network: Network, seed: int,
                 stream: Sequence[int] = ()) -> list:
    """Seeded standard-normal noise, one (count, z_dim) array per ladder."""
    rng = np.random.default_rng([seed, 1, *stream])
    return [rng.standard_normal((count, network.z_dim)).astype(np.float32)
            for _ in range(network.num_ladders)]
