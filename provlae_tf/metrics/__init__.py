"""Disentanglement metrics as pure functions of numpy arrays.

Encoding a dataset is a separate step: the cores take codes (posterior
samples and parameters, or means), factor classes, and an explicit
``np.random.Generator``.

- ``estimate_mig``: MIG and MIG-sup with the original's entropy estimator
  (``entropy.py``), fast and certified (``fast_mixture.py``) or brute force.
- ``factor_vae_score``: the factor metric of Kim & Mnih (2018).
- ``histogram_mig``: disentanglement_lib's histogram MIG.
- ``information_per_ladder``: ``I(x; z_l)`` per ladder.
- ``per_ladder`` / ``select_ladder``: any metric on one ladder's latents.
"""

from provlae_tf.metrics.entropy import (estimate_entropies,
                                        params_from_mean_logvar,
                                        subsample_entropies)
from provlae_tf.metrics.factor_vae import (FactorVaeResult, GroundTruth,
                                           factor_vae_score)
from provlae_tf.metrics.fast_mixture import log_mixture_fast
from provlae_tf.metrics.histogram_mig import (HistogramMigResult,
                                              histogram_mig,
                                              histogram_mig_from_ground_truth)
from provlae_tf.metrics.information import (information_per_ladder,
                                            mutual_information)
from provlae_tf.metrics.ladders import (ladder_columns, per_ladder,
                                        select_ladder)
from provlae_tf.metrics.mig import MigResult, estimate_mig, gap_scores
from provlae_tf.metrics.mixture import log_mixture_brute

__all__ = [
    "FactorVaeResult", "GroundTruth", "HistogramMigResult", "MigResult",
    "estimate_entropies", "estimate_mig", "factor_vae_score", "gap_scores",
    "histogram_mig", "histogram_mig_from_ground_truth",
    "information_per_ladder", "ladder_columns", "log_mixture_brute",
    "log_mixture_fast", "mutual_information", "params_from_mean_logvar",
    "per_ladder", "select_ladder", "subsample_entropies",
]
