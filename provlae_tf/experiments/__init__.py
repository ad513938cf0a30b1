"""Experiment grids: datasets x models x seeds under one budget.

``python -m provlae_tf.experiments`` runs every cell of a grid as an
ordinary run directory (``<out_dir>/<dataset>/<model>/seed<k>``, trained and
scored by ``python -m provlae_tf.main``), skips finished cells, resumes
interrupted ones, and writes ``results.csv``, ``summary.csv``,
``results.md`` and plots under ``--out_dir``; ``--export_dir`` keeps the
finished cells' small outputs where they can be committed. See
docs/experiments.md.

Modules: :mod:`~provlae_tf.experiments.budgets` (budgets, sized in steps per
stage or by fixed flags), :mod:`~provlae_tf.experiments.grid` (models, cells
and their command lines), :mod:`~provlae_tf.experiments.status` (what a
cell's run directory or exported copy holds),
:mod:`~provlae_tf.experiments.runner` (running cells, in parallel
processes), :mod:`~provlae_tf.experiments.collect` (run directories to
rows), :mod:`~provlae_tf.experiments.statistics` (means, bootstrap CIs,
tests against pro-VLAE; pure), :mod:`~provlae_tf.experiments.export`
(exported copies), :mod:`~provlae_tf.experiments.outputs` (collecting a
grid), :mod:`~provlae_tf.experiments.tables`,
:mod:`~provlae_tf.experiments.markdown`,
:mod:`~provlae_tf.experiments.plots` and
:mod:`~provlae_tf.experiments.run_figures` (the outputs). Only
``__main__`` reads the command-line flags.
"""
