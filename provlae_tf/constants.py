"""The names and numbers that several layers of provlae_tf share.

One home for each list, so that the flags, the config, the model, the
loaders and the converter cannot drift apart.
"""

from __future__ import annotations

# Datasets and their image channels (every image is 64 x 64).
CHANNELS = {"dsprites": 1, "3dshapes": 3, "celeba": 3, "mnist": 1}
DATASETS = tuple(CHANNELS)
# Datasets with ground-truth factors (the disentanglement metrics need them),
# and their fixed number of images (the full factor grids).
FACTORISED_DATASETS = ("dsprites", "3dshapes")
GRID_IMAGES = {"dsprites": 737_280, "3dshapes": 480_000}

# Architectures and their number of ladders L.
NUM_LADDERS = {"small": 3, "celeba": 4}
ARCHITECTURES = tuple(NUM_LADDERS)
# The models of --model: pro-VLAE and the two non-progressive baselines
# (docs/original.md#baselines).
MODELS = ("provlae", "vlae", "beta_vae")
# Reference: docs/original.md#dataset-choice
# The network each dataset uses when --architecture=auto.
DEFAULT_ARCHITECTURE = {"dsprites": "small", "3dshapes": "small",
                        "celeba": "celeba", "mnist": "small"}

# --strategy and --mixed_precision choices (provlae_tf.train.distribute).
STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = ("off", "mixed_float16", "mixed_bfloat16")

# The original's --mode numbers and our names for them.
MODE_NAMES = {"1": "train", "2": "visualize", "3": "metrics"}
MODES = (*MODE_NAMES, *MODE_NAMES.values())

# What a run directory holds besides --log_file (which must not be one).
RUN_DIRECTORY_ENTRIES = ("config.json", "invocations.jsonl", "ckpt", "stages",
                         "tensorboard", "images", "visualize",
                         "information.json", "metrics.json")
# Most latents per ladder (far beyond any recipe; a model this wide still
# fits in memory).
MAX_Z_DIM = 1024

# Loading an original TF1 checkpoint: every variable must map (strict), or
# the original's fallback of loading what matches by name and shape.
RESTORE_MODES = ("strict", "optimistic")

# Reference: docs/original.md#frozen-batch-norm
# tf.layers.batch_normalization's default epsilon (float32 1.0000000475e-3).
BN_EPSILON = 1e-3
