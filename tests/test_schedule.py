"""The progressive schedule against original-code.md §6 and the fixture."""

import numpy as np
import pytest

from provlae_tf.model import stages
from provlae_tf.train import schedule
from tests.shared_fixtures import fixture_path

# original-code.md §6: loss weights per stage, ladders 1..L.
RECIPES = {
    "dsprites": (3, 1.0, 0.5, [[.5, .5, 1], [.5, 1, 1], [1, 1, 1]]),
    "3dshapes": (3, 8.0, 0.5, [[.5, .5, 8], [.5, 8, 8], [8, 8, 8]]),
    "celeba": (4, 1.0, 0.1, [[.1, .1, .1, 1], [.1, .1, 1, 1], [.1, 1, 1, 1],
                             [1, 1, 1, 1]]),
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_loss_weight_tables(recipe):
    num_ladders, beta, coff, table = RECIPES[recipe]
    for stage, expected in enumerate(table, start=1):
        assert schedule.loss_weights(stage, num_ladders, beta, coff,
                                     pre_kl=True) == expected


def test_without_pre_kl_inactive_ladders_weigh_zero():
    assert schedule.loss_weights(1, 3, 8.0, 0.5, pre_kl=False) == [0, 0, 8]
    assert schedule.loss_weights(2, 4, 1.0, 0.1, pre_kl=False) == [0, 0, 1, 1]


def test_active_and_new_ladders():
    assert stages.active_ladders(1, 3) == [3]
    assert stages.active_ladders(3, 3) == [3, 2, 1]
    assert [stages.new_ladder(s, 4) for s in (1, 2, 3, 4)] == [None, 3, 2, 1]
    with pytest.raises(ValueError):
        stages.active_ladders(4, 3)


def test_decoder_multipliers():
    assert stages.decoder_multiplier_kinds(1, 3) == {1: "off", 2: "off"}
    assert stages.decoder_multiplier_kinds(2, 3) == {1: "off", 2: "fade"}
    assert stages.decoder_multiplier_kinds(3, 3) == {1: "fade", 2: "on"}
    assert stages.decoder_multiplier_kinds(4, 4) == {1: "fade", 2: "on",
                                                       3: "on"}


def test_celeba_encoder_fade_off_by_one():
    bugged = [stages.encoder_fade_ladder(s, 4, True) for s in (1, 2, 3, 4)]
    fixed = [stages.encoder_fade_ladder(s, 4, False) for s in (1, 2, 3, 4)]
    assert bugged == [None, 2, 1, None]
    assert fixed == [None, 3, 2, 1]


def test_fade_in_alpha_matches_the_original():
    ref = np.load(fixture_path("tf1_dsprites", "reference.npz"))
    duration = int(ref["fade_in_duration"])
    ours = [schedule.fade_in_alpha(int(i), duration)
            for i in ref["fade_in_alpha_iters"]]
    np.testing.assert_allclose(ours, ref["fade_in_alpha"], rtol=1e-12)
    assert schedule.fade_in_alpha(10_000, 5000) == 1.0
