"""Experiment grids: datasets x models x seeds under one budget.

``python -m provlae_tf.experiments`` runs every cell of a grid as an
ordinary run directory (``<out_dir>/<dataset>/<model>/seed<k>``, trained and
scored by ``python -m provlae_tf.main``), skips finished cells, resumes
interrupted ones, and writes ``results.csv``, ``results.md`` and plots under
``--out_dir``. See docs/experiments.md.

Modules: :mod:`~provlae_tf.experiments.grid` (models, budgets, cells and
their command lines), :mod:`~provlae_tf.experiments.status` (what a cell's
run directory holds), :mod:`~provlae_tf.experiments.runner` (running cells,
in parallel processes), :mod:`~provlae_tf.experiments.collect` (run
directories to rows, mean and sample std over seeds),
:mod:`~provlae_tf.experiments.tables` and
:mod:`~provlae_tf.experiments.plots` (the outputs). Only ``__main__`` reads
the command-line flags.
"""
