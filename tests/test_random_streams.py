"""The random streams' keys: one per draw, never shared.

Two keys draw the same numbers exactly when NumPy's SeedSequence gives them
the same state, so keys are compared as ``SeedSequence(key).generate_state``.
"""

import itertools

import numpy as np
import pytest

from provlae_tf import random_streams as rs

N = 50


def state(key) -> tuple:
    return tuple(np.random.SeedSequence(key).generate_state(8))


def realistic_draws():
    """(seed, stream, more) of the draws runs make: every named stream, the
    per-ladder and per-part sub-streams, the data order of four stages by
    four epochs, and --max_examples sizes including 300 (the old collision
    with METRIC_SAMPLES) and 1 (the old one with TRAVERSAL)."""
    plain = [rs.RECONSTRUCTIONS, rs.TRAVERSAL, rs.EVALUATION_SUBSET,
             rs.METRIC_SAMPLES, rs.METRIC_MIG, rs.METRIC_HISTOGRAM,
             rs.METRIC_INFORMATION, rs.INFORMATION_SUBSET,
             rs.INFORMATION_NOISE, rs.INFORMATION_QUERIES]
    for seed in (0, 1, 300):
        yield from ((seed, stream, ()) for stream in plain)
        yield from ((seed, rs.RESAMPLE_LADDER, (l,)) for l in range(1, 5))
        yield from ((seed, rs.METRIC_FACTOR, (p,)) for p in range(4))
        yield from ((seed, rs.DATA_ORDER, (stage, epoch))
                    for stage, epoch in itertools.product(range(1, 5),
                                                          range(4)))
        yield from ((seed, rs.TRAINING_SUBSET, (size,))
                    for size in (1, 2, 300, 301, 2048, 737280))


def test_stream_numbers_are_distinct_and_all_checked():
    numbers = [value for name, value in vars(rs).items()
               if name.isupper() and not name.startswith("_")]
    assert len(numbers) == len(set(numbers))
    # A new stream must join realistic_draws, so the next test covers it.
    assert {stream for _, stream, _ in realistic_draws()} == set(numbers)


def test_no_two_draws_share_a_seed_state():
    draws = list(realistic_draws())
    states = {state(rs.key(seed, stream, *more)) for seed, stream, more
              in draws}
    assert len(states) == len(draws)


def test_trailing_zeros_would_collide_without_the_length_word():
    # NumPy pads short entropy with zeros: the reason for the length word.
    assert state([7, 1]) == state([7, 1, 0])
    assert state(rs.key(7, 1)) != state(rs.key(7, 1, 0))
    assert rs.key(7, 1, 0) == [7, 1, 1, 0]


@pytest.mark.parametrize("part", [-1, 2 ** 32])
def test_key_parts_must_be_32_bit(part):
    with pytest.raises(ValueError, match="2\\*\\*32"):
        rs.key(0, rs.TRAVERSAL, part)
    with pytest.raises(ValueError):
        rs.key(part, rs.TRAVERSAL)


def test_generator_draws_from_the_key():
    np.testing.assert_array_equal(
        rs.generator(3, rs.METRIC_FACTOR, 2).random(4),
        np.random.default_rng([3, rs.METRIC_FACTOR, 1, 2]).random(4))


def test_epoch_order_no_longer_draws_the_traversal_numbers():
    for seed in (0, 5):
        order = rs.epoch_order(seed, 1, 0, N)
        # The old key [seed, 1, 0] is the traversal stream's [seed, 1].
        old = np.random.default_rng([seed, 1, 0]).permutation(N)
        np.testing.assert_array_equal(
            old, np.random.default_rng([seed, rs.TRAVERSAL]).permutation(N))
        traversal = rs.generator(seed, rs.TRAVERSAL).permutation(N)
        assert not np.array_equal(order, traversal)
        assert not np.array_equal(order, old)
        np.testing.assert_array_equal(
            order, np.random.default_rng(
                [seed, rs.DATA_ORDER, 2, 1, 0]).permutation(N))


def test_training_subset_no_longer_draws_the_metric_samples():
    total, size, seed = 1000, 300, 0
    subset = rs.training_subset(total, size, seed)
    metric = np.sort(rs.generator(seed, rs.METRIC_SAMPLES).choice(
        total, size, replace=False))
    assert not np.array_equal(subset, metric)
    np.testing.assert_array_equal(subset, np.sort(np.random.default_rng(
        [seed, rs.TRAINING_SUBSET, 1, size]).choice(total, size,
                                                    replace=False)))


def test_epoch_order_is_a_permutation_per_stage_and_epoch():
    orders = {(stage, epoch): rs.epoch_order(0, stage, epoch, N)
              for stage in (1, 2) for epoch in (0, 1)}
    for order in orders.values():
        assert order.dtype == np.int32
        assert sorted(order.tolist()) == list(range(N))
    assert len({o.tobytes() for o in orders.values()}) == len(orders)
    np.testing.assert_array_equal(orders[1, 0], rs.epoch_order(0, 1, 0, N))


@pytest.mark.parametrize("total,size", [(10, 10), (1000, 1), (1000, 300)])
def test_training_subset_is_sorted_without_repeats(total, size):
    subset = rs.training_subset(total, size, seed=4)
    assert len(subset) == size
    assert np.all(np.diff(subset) > 0)
    assert subset.min() >= 0 and subset.max() < total
    np.testing.assert_array_equal(subset, rs.training_subset(total, size, 4))
    if size < total:  # another seed, another subset
        assert not np.array_equal(subset, rs.training_subset(total, size, 5))
