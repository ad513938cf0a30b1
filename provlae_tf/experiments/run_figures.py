"""Figures of one run per model: the median seed's MI matrix and traversals.

Under ``<out_dir>/plots/``:

- ``<dataset>_<model>_mi_matrix.png``: the normalised MI matrix (factors x
  latents, ladders marked) of each model's median seed by MIG, drawn from
  that cell's ``metrics.json`` (``mi_normed``, ``mig_factors``) by
  :func:`provlae_tf.viz.plots.plot_mi_matrix`, as ``--mode=3`` draws it;
- ``<dataset>_provlae_traversal_top.png`` / ``_bottom.png``: the top and
  the bottom ladder's rows of the median pro-VLAE seed's last stage-end
  traversal (``images/stage<L>_traversal.png``: one labelled row per
  latent, top ladder first), cropped.

The median seed of n runs is the ((n + 1) // 2)-th by MIG (ties: the
earlier seed of the grid), the lower middle one for even n; where no run
has a MIG (datasets without factors), the first run.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

from provlae_tf import run_files
from provlae_tf.config import load_run_config
from provlae_tf.errors import UserError
from provlae_tf.experiments.collect import RunResult
from provlae_tf.experiments.grid import REFERENCE_MODEL, Grid
from provlae_tf.experiments.plots import PLOTS_DIR
from provlae_tf.fileio import atomic_save

# The padding of provlae_tf.viz.traversals.combined_grid, in pixels, around
# and between the rows (not imported: that package loads TensorFlow).
TRAVERSAL_PAD = 2


def median_run(runs: Sequence[RunResult], model: str
               ) -> Optional[RunResult]:
    """The median seed's run of ``model`` (see the module docstring)."""
    own = [r for r in runs if r.cell.model == model]
    if not own:
        return None
    scored = [r for r in own if r.row.get("mig") is not None]
    if not scored:
        return own[0]
    ranked = sorted(enumerate(scored), key=lambda p: (p[1].row["mig"], p[0]))
    return ranked[(len(ranked) - 1) // 2][1]


def traversal_name(run: RunResult) -> str:
    """The stage-end traversal image of the run's last stage."""
    return f"stage{run.row.get('stage')}_traversal.png"


def plot_run_figures(out_dir: str, grid: Grid, results: Sequence[RunResult]
                     ) -> tuple[list[str], list[str]]:
    """The MI matrices and traversal crops; returns ``(paths, notes)``, a
    note for each figure that could not be drawn and why."""
    folder = os.path.join(out_dir, PLOTS_DIR)
    paths, notes = [], []
    for dataset in grid.datasets:
        runs = [r for r in results if r.cell.dataset == dataset]
        for model in grid.models:
            run = median_run(runs, model)
            if run is None or "all" not in run.metrics:
                continue  # no run, or no factors (no MIG, no MI matrix)
            path = os.path.join(folder, f"{dataset}_{model}_mi_matrix.png")
            try:
                paths.append(plot_mi_matrix(run, path))
            except (KeyError, TypeError, ValueError) as e:
                notes.append(f"{path}: not drawn ({run.cell.name}/"
                             f"metrics.json: no MI matrix: {e})")
        run = median_run(runs, REFERENCE_MODEL)
        if run is None:
            continue
        for which in ("top", "bottom"):
            path = os.path.join(folder, f"{dataset}_{REFERENCE_MODEL}_"
                                f"traversal_{which}.png")
            try:
                paths.append(crop_traversal(run, which, path))
            except (UserError, OSError) as e:  # OSError: not a PNG
                notes.append(f"{path}: not drawn ({e})")
    return paths, notes


def plot_mi_matrix(run: RunResult, path: str) -> str:
    """The run's normalised MI matrix, as ``--mode=3`` draws it."""
    # Imported here: the viz package loads TensorFlow (seconds, and its
    # start-up lines on stderr), which the rest of collecting does not need.
    from provlae_tf.viz.plots import plot_mi_matrix as draw
    metrics = run.metrics
    matrix = metrics["mi_normed"]
    latents = len(matrix[0])
    if latents % run.num_ladders:
        raise ValueError(f"{latents} latents in {run.num_ladders} ladders")
    return draw(matrix, metrics["mig_factors"], latents // run.num_ladders,
                run.num_ladders, path,
                title=f"{run.cell.model}, seed {run.cell.seed} (median), "
                      f"stage {metrics.get('stage')}: MIG "
                      f"{metrics['all']['mig']:.3f}")


def crop_traversal(run: RunResult, which: str, path: str) -> str:
    """The ``"top"`` or ``"bottom"`` ladder's rows of the run's last
    stage-end traversal image, written to ``path``.

    Raises:
        UserError: no such image, or not the traversal grid of this run.
    """
    from PIL import Image
    source = run_files.path(run.cell.run_dir, run_files.IMAGES,
                            traversal_name(run))
    if not os.path.isfile(source):
        raise UserError(f"{run.cell.name}: no {source}")
    config = load_run_config(run.cell.run_dir)
    if config is None:
        raise UserError(f"{run.cell.name}: no config.json (its z_dim)")
    z_dim, ladders = config.model.z_dim, run.num_ladders
    rows, pad = ladders * z_dim, TRAVERSAL_PAD
    with Image.open(source) as image:
        image.load()
    width, height = image.size
    cell = (height - (rows + 1) * pad) / rows
    if cell <= 0 or cell != int(cell):
        raise UserError(f"{source}: {height} pixels high is not {rows} "
                        f"traversal rows ({ladders} ladders x {z_dim} "
                        f"latents) with {pad}-pixel padding")
    step = int(cell) + pad
    # Rows run from the top ladder down: ladder L's are the first z_dim.
    first = 0 if which == "top" else (ladders - 1) * z_dim
    piece = image.crop((0, first * step, width,
                        (first + z_dim) * step + pad))
    return atomic_save(path, lambda temp: piece.save(temp, format="PNG"))
