"""Which ladder holds each factor (provlae_tf.experiments.ladders): known
answers from hand-made MI matrices."""

import pytest

from provlae_tf.experiments import collect, grid, ladders


def _run(model, seed, matrix, num_ladders=2):
    cell = grid.Cell("dsprites", model, seed, "smoke", "/nowhere")
    return collect.RunResult(cell, {}, num_ladders, {},
                             {"mi_normed": matrix,
                              "mig_factors": ["scale", "posX"]})


def test_the_holding_ladder_is_the_best_latents_ladder():
    # Two ladders of two latents: columns L1 z0, L1 z1, L2 z0, L2 z1.
    matrix = [[0.1, 0.2, 0.7, 0.0],   # scale: L2 z0
              [0.5, 0.1, 0.2, 0.3]]   # posX: L1 z0
    assert ladders.holding_ladders(matrix, 2) == [(2, 0.7), (1, 0.5)]
    # The same matrix read as four ladders of one latent.
    assert ladders.holding_ladders(matrix, 4) == [(3, 0.7), (1, 0.5)]


def test_a_matrix_that_does_not_split_into_the_ladders_is_refused():
    with pytest.raises(ValueError, match="does not split into 3 ladders"):
        ladders.holding_ladders([[0.1, 0.2, 0.3, 0.4]], 3)
    with pytest.raises(ValueError, match=r"shape \(4,\) does not split"):
        ladders.holding_ladders([0.1, 0.2, 0.3, 0.4], 2)


def test_seeds_are_counted_per_ladder_and_the_mi_averaged():
    runs = [_run("provlae", 0, [[0.1, 0.2, 0.7, 0.0], [0.5, 0.1, 0.2, 0.3]]),
            _run("provlae", 1, [[0.0, 0.0, 0.1, 0.3], [0.1, 0.4, 0.2, 0.3]]),
            _run("provlae", 2, [[0.6, 0.0, 0.1, 0.3], [0.1, 0.2, 0.2, 0.9]]),
            # One ladder: no entry.
            _run("beta_vae", 0, [[0.9, 0.1], [0.2, 0.8]], num_ladders=1)]
    rows = {r.factor: r for r in ladders.factor_ladders(runs)}
    assert set(rows) == {"scale", "posX"}
    scale, pos = rows["scale"], rows["posX"]
    # scale: L2 (0.7), L2 (0.3), L1 (0.6).
    assert (scale.model, scale.n) == ("provlae", 3)
    assert scale.seeds_per_ladder == {2: 2, 1: 1}
    assert scale.mean_mi == pytest.approx((0.7 + 0.3 + 0.6) / 3)
    # posX: L1 (0.5), L1 (0.4), L2 (0.9): most seeds first.
    assert list(pos.seeds_per_ladder.items()) == [(1, 2), (2, 1)]
    assert ladders.format_entry(scale) == "L2 ×2, L1 ×1 (0.53)"
    assert ladders.format_entry(pos) == "L1 ×2, L2 ×1 (0.60)"


def test_equal_counts_list_the_higher_ladder_first():
    runs = [_run("vlae", 0, [[0.9, 0.0, 0.0, 0.1], [0.0, 0.0, 0.0, 1.0]]),
            _run("vlae", 1, [[0.0, 0.0, 0.0, 0.5], [0.0, 0.0, 0.0, 1.0]])]
    scale = ladders.factor_ladders(runs)[0]
    assert ladders.format_entry(scale) == "L2 ×1, L1 ×1 (0.70)"
