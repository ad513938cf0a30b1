"""The input pipeline: seeded permutations, dropped remainder, resume offset."""

import numpy as np

from provlae_tf.data import pipeline
from provlae_tf.data.sources import ArraySource, SubsetSource
from provlae_tf.random_streams import epoch_order


def indexed_source(n):
    # Image i is filled with the value i, so batches reveal their indices.
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None],
                             (n, 64, 64, 1)).copy()
    return ArraySource("indexed", images, max_value=255)


def test_epoch_order_is_a_seeded_permutation():
    a = epoch_order(0, 1, 0, 100)
    assert sorted(a) == list(range(100))
    np.testing.assert_array_equal(a, epoch_order(0, 1, 0, 100))
    assert not np.array_equal(a, epoch_order(0, 1, 1, 100))
    assert not np.array_equal(a, epoch_order(1, 1, 0, 100))


def test_batches_follow_the_order_and_drop_the_remainder():
    src = indexed_source(50)
    order = epoch_order(0, 1, 0, 50)
    assert pipeline.steps_per_epoch(50, 16) == 3
    got = [b.numpy()[:, 0, 0, 0] for b in pipeline.batches(src, order, 16)]
    assert len(got) == 3 and all(b.dtype == np.uint8 for b in got)
    np.testing.assert_array_equal(np.concatenate(got), order[:48])
    resumed = [b.numpy()[:, 0, 0, 0]
               for b in pipeline.batches(src, order, 16, first_step=2)]
    np.testing.assert_array_equal(np.concatenate(resumed), order[32:48])


def test_subset_is_fixed_and_in_canonical_order():
    src = indexed_source(200)
    a, b = SubsetSource(src, 20, seed=1), SubsetSource(src, 20, seed=1)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert np.all(np.diff(a.indices) > 0) and a.num_examples == 20
    np.testing.assert_array_equal(a.images(np.arange(3))[:, 0, 0, 0],
                                  a.indices[:3])
