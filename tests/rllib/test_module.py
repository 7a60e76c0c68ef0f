"""``SharedMLPModule``: FuPS / FuPS+id as an RLlib module, masking, Box and MultiDiscrete heads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.rllib.conftest import SKIP_REASON

pytest.importorskip("ray.rllib", reason=SKIP_REASON)

from gymnasium import spaces  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402

from policies import SharedMLP, count_parameters  # noqa: E402
from policies.rllib import SharedMLPModule, fups_module  # noqa: E402
from ps_wrappers.rllib import ID_KEY, MASK_KEY, OBS_KEY  # noqa: E402


def _obs_space(d: int = 6, m: int = 5, n: int = 3) -> spaces.Dict:
    entries: dict[str, spaces.Space] = {OBS_KEY: spaces.Box(-np.inf, np.inf, (d,), np.float32)}
    if m:
        entries[MASK_KEY] = spaces.Box(0.0, 1.0, (m,), np.float32)
    if n:
        entries[ID_KEY] = spaces.Box(0.0, 1.0, (n,), np.float32)
    return spaces.Dict(entries)


def _module(agent_id: bool, obs_space: spaces.Space | None = None, action_space: spaces.Space | None = None) -> SharedMLPModule:
    spec = fups_module(agent_id=agent_id, hidden=(16, 16))
    spec.observation_space = obs_space if obs_space is not None else _obs_space()
    spec.action_space = action_space if action_space is not None else spaces.Discrete(5)
    module = spec.build()
    assert isinstance(module, SharedMLPModule)
    return module


def _batch(rows: int = 6, d: int = 6, m: int = 5, n: int = 3, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(rows, d, generator=g)
    mask = (torch.rand(rows, m, generator=g) < 0.5).float()
    mask[:, 1] = 1.0
    agent = torch.arange(rows) % n
    return {Columns.OBS: {OBS_KEY: features, MASK_KEY: mask, ID_KEY: torch.nn.functional.one_hot(agent, n).float()}}


def test_invalid_actions_get_zero_probability_and_are_never_sampled() -> None:
    module = _module(agent_id=True)
    batch = _batch(rows=64)
    out = module.forward_exploration(batch)
    dist = module.get_exploration_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
    probs = torch.softmax(out[Columns.ACTION_DIST_INPUTS], -1)
    mask = batch[Columns.OBS][MASK_KEY]
    assert torch.all(probs[mask == 0] == 0)
    samples = torch.stack([dist.sample() for _ in range(20)])
    assert torch.all(mask.gather(1, samples.T) == 1)
    assert torch.isfinite(dist.entropy()).all()


def test_fups_ignores_the_agent_and_fups_id_reads_it() -> None:
    batch = _batch(rows=3)
    same = batch[Columns.OBS][OBS_KEY][:1].expand(3, -1).clone()  # one observation, three agents
    batch[Columns.OBS][OBS_KEY] = same
    batch[Columns.OBS][MASK_KEY] = torch.ones(3, 5)
    fups = _module(agent_id=False).forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
    assert torch.equal(fups[0], fups[1]) and torch.equal(fups[1], fups[2])
    fups_id = _module(agent_id=True).forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
    assert not torch.allclose(fups_id[0], fups_id[1])


def test_actor_and_critic_are_the_policies_shared_mlp() -> None:
    module = _module(agent_id=True)
    assert isinstance(module.pi, SharedMLP) and isinstance(module.vf, SharedMLP)
    assert module.pi.input_dim == 6 + 3 and module.pi.out_dim == 5 and module.vf.out_dim == 1
    # FuPS+id adds N x width to the first layer: pi (6+3)*16+16 + 16*16+16 + 16*5+5, vf ... + 16+1.
    assert count_parameters(module) == (160 + 272 + 85) + (160 + 272 + 17)
    values = module.compute_values(_batch(rows=4))
    assert values.shape == (4,)


def test_box_actions_get_a_state_independent_log_std() -> None:
    obs_space = _obs_space(m=0)
    module = _module(agent_id=False, obs_space=obs_space, action_space=spaces.Box(-1.0, 1.0, (4,), np.float32))
    batch = _batch(rows=5, m=5)
    del batch[Columns.OBS][MASK_KEY]
    out = module.forward_exploration(batch)[Columns.ACTION_DIST_INPUTS]
    assert out.shape == (5, 8)
    assert torch.equal(out[:, 4:], module.log_std.detach().expand(5, 4))
    dist = module.get_train_action_dist_cls().from_logits(out)
    assert dist.sample().shape == (5, 4)


def test_multidiscrete_masks_apply_per_dimension() -> None:
    module = _module(agent_id=False, obs_space=_obs_space(m=5), action_space=spaces.MultiDiscrete([3, 2]))
    batch = _batch(rows=32, m=5)
    batch[Columns.OBS][MASK_KEY][:, 3] = 1.0  # every dimension keeps a valid value
    out = module.forward_exploration(batch)[Columns.ACTION_DIST_INPUTS]
    dist = module.get_exploration_action_dist_cls().from_logits(out)
    mask = batch[Columns.OBS][MASK_KEY]
    for _ in range(10):
        a = dist.sample()
        assert torch.all(mask[:, :3].gather(1, a[:, :1]) == 1) and torch.all(mask[:, 3:].gather(1, a[:, 1:]) == 1)


def test_bad_configurations_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"agent_id'\]=True \(FuPS\+id\) needs obs\['agent_id'\].*AgentIdOneHot"):
        _module(agent_id=True, obs_space=_obs_space(n=0))
    with pytest.raises(TypeError, match=r"needs the observation space of a ps_wrappers.rllib.to_rllib env"):
        _module(agent_id=False, obs_space=spaces.Box(-1.0, 1.0, (6,), np.float32))
    with pytest.raises(ValueError, match=r"obs\['action_mask'\] has 5 entries but the action space Discrete\(4\) has 4 logits"):
        _module(agent_id=False, action_space=spaces.Discrete(4))
    with pytest.raises(TypeError, match=r"supports Discrete, MultiDiscrete and flat Box actions, got MultiBinary"):
        _module(agent_id=False, obs_space=_obs_space(m=0), action_space=spaces.MultiBinary(3))
    with pytest.raises(ValueError, match=r"model_config\['hidden'\] must be a sequence of positive ints, got \(64, 0\)"):
        fups_module(hidden=(64, 0))
    with pytest.raises(ValueError, match=r"model_config\['activation'\] must be one of \['relu', 'tanh'\], got 'gelu'"):
        fups_module(activation="gelu")
