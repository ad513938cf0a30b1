"""Visual results of a pro-VLAE model (what the original's mode 2 writes).

- :func:`visualize`: reconstructions, latent traversals (PNG and GIF),
  per-ladder resampling grids, dataset-mean losses and a JSON summary.
- :func:`stage_end_images` / :func:`write_stage_end`: the traversal and
  resampling grids a trainer saves (and sends to TensorBoard) per stage.
- :mod:`provlae_tf.viz.plots`: training curves, information per ladder,
  mutual-information heatmaps (imported separately; it loads matplotlib).
"""

from provlae_tf.viz.images import grid, save_gif, save_png
from provlae_tf.viz.mean_losses import evaluate_losses
from provlae_tf.viz.run_outputs import (stage_end_images, visualize,
                                        write_stage_end)
from provlae_tf.viz.tensorboard import write_image
from provlae_tf.viz.traversals import Latent, traversal_codes

__all__ = [
    "evaluate_losses", "grid", "Latent", "save_gif", "save_png",
    "stage_end_images", "traversal_codes", "visualize", "write_image",
    "write_stage_end",
]
