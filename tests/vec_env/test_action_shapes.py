"""The layout records each agent's own Box action shape when Box actions are padded."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

import ps_wrappers
from ps_wrappers.layout import real_action_mask
from ps_wrappers.testing import ContinuousIdentityEnv, SpaceMapEnv


def test_padded_box_actions_record_each_agents_shape_and_real_dimensions():
    venv = ps_wrappers.make_vec_env(lambda: ContinuousIdentityEnv(n_agents=3, action_dims=[1, 3, 2]), n_envs=2, seed=0)
    layout = venv.observation_space.layout
    assert venv.action_space.shape == (3,)
    assert layout.action_shapes == ((1,), (3,), (2,))
    np.testing.assert_array_equal(layout.real_action_mask((3,)), [[1, 0, 0], [1, 1, 1], [1, 1, 0]])
    # every padded dimension the policy sends is dropped before the env (which raises otherwise)
    venv.reset()
    venv.step(np.full((venv.num_envs, 3), 0.5, np.float32))


@pytest.mark.parametrize(
    "action_spaces",
    [
        {"a": spaces.Box(-1, 1, (2,)), "b": spaces.Box(-1, 1, (2,))},  # same Box: nothing padded
        {"a": spaces.Discrete(3), "b": spaces.Discrete(5)},  # not Box
    ],
)
def test_unpadded_or_discrete_actions_record_no_shapes(action_spaces):
    obs = {a: spaces.Box(-1, 1, (3,)) for a in action_spaces}
    venv = ps_wrappers.make_vec_env(lambda: SpaceMapEnv(obs, action_spaces), seed=0)
    assert venv.observation_space.layout.action_shapes == ()


def test_real_action_mask_of_rank_two_boxes_keeps_the_leading_block():
    mask = real_action_mask(((1, 2), (2, 3)), ("a", "b"), (2, 3))
    np.testing.assert_array_equal(mask[0].reshape(2, 3), [[1, 1, 0], [0, 0, 0]])
    assert mask[1].all()
    assert real_action_mask((), ("a", "b"), (4,)).all()


def test_real_action_mask_refuses_shapes_that_do_not_fit():
    with pytest.raises(ValueError, match=r"agent 'b' has action shape \(4,\), which does not fit in the padded action shape \(3,\)"):
        real_action_mask(((1,), (4,)), ("a", "b"), (3,))
    with pytest.raises(ValueError, match=r"1 action shapes for 2 agents"):
        real_action_mask(((1,),), ("a", "b"), (3,))
