"""Exported cells: a finished cell's small outputs, without its checkpoints.

``--export_dir=D`` copies each finished cell's small outputs into
``D/<dataset>/<model>/seed<k>/``: enough to rebuild every table and metric
figure of the grid (``--collect --out_dir=D``) and to continue the grid on
another machine from a committed ``D`` without training its finished cells
again (the runner counts an exported cell as finished).

Copied: :data:`SMALL_OUTPUTS` (those the run has). Written:
:data:`RECORD` (``exported.json``): where the cell came from. Its presence
is what makes a folder an exported cell
(:mod:`~provlae_tf.experiments.status`). The stage-end
traversal image of each dataset's median pro-VLAE seed is copied too
(:func:`copy_image`), for the figures.
"""

from __future__ import annotations

import os
import shutil
from typing import Optional

from provlae_tf import run_files
from provlae_tf.fileio import atomic_save, load_json_object, save_json

SMALL_OUTPUTS = (run_files.CONFIG, run_files.METRICS, run_files.INFORMATION,
                 run_files.INVOCATIONS, run_files.TRAINING)
RECORD = "exported.json"


def is_exported(run_dir: str) -> bool:
    """Whether ``run_dir`` is an exported copy (it has :data:`RECORD`)."""
    return os.path.isfile(os.path.join(run_dir, RECORD))


def read_record(run_dir: str) -> Optional[dict]:
    """An exported copy's record, or None when ``run_dir`` is not one.

    Raises:
        UserError: the record is there but unreadable.
    """
    path = os.path.join(run_dir, RECORD)
    if not os.path.exists(path):
        return None
    return load_json_object(path, "the record that --export_dir writes")


def export_cell(source: str, destination: str) -> list[str]:
    """Copies a finished run directory's small outputs; returns the paths.

    Args:
        source: the run directory (finished: trained and scored).
        destination: its folder under the export directory.
    """
    if os.path.abspath(source) == os.path.abspath(destination):
        return []
    paths = [copy_file(os.path.join(source, name),
                       os.path.join(destination, name))
             for name in SMALL_OUTPUTS
             if os.path.isfile(os.path.join(source, name))]
    # Written last: a copy interrupted before it is not taken for finished.
    paths.append(save_json(os.path.join(destination, RECORD), {
        "from": os.path.abspath(source), "files": list(SMALL_OUTPUTS)}))
    return paths


def copy_image(source: str, destination: str, name: str) -> Optional[str]:
    """Copies ``<source>/images/<name>`` to ``<destination>/images/``; its
    new path, or None when the source has no such image."""
    path = run_files.path(source, run_files.IMAGES, name)
    target = run_files.path(destination, run_files.IMAGES, name)
    if not os.path.isfile(path):
        return None
    if os.path.abspath(path) == os.path.abspath(target):
        return target
    return copy_file(path, target)


def copy_file(source: str, destination: str) -> str:
    """Copies a file atomically (a reader sees the old copy or the new)."""
    return atomic_save(destination,
                       lambda temp: shutil.copyfile(source, temp))
