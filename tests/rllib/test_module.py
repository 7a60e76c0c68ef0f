"""``SharingRLModule``: every method's networks from the method objects, equal to the SB3 policy's.

Modules are built from the specs the config helpers complete (agent names, ``init_seed``) on the
spaces a ``to_rllib`` env and its one-hot connector give; no Ray worker is started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from tests.rllib.conftest import SKIP_REASON

pytest.importorskip("ray.rllib", reason=SKIP_REASON)

from gymnasium import spaces  # noqa: E402
from mpe2 import simple_world_comm_v3  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.core.rl_module.apis import TARGET_NETWORK_ACTION_DIST_INPUTS  # noqa: E402

import ps_wrappers  # noqa: E402
from policies import (  # noqa: E402
    LearnedMaskMLP,
    NeuronMaskedMLP,
    RoutedMLP,
    SharedMLP,
    SparseTopology,
    random_valid_actions,
)
from policies.ppo import LearnedMaskPolicy, PrunedMaskPolicy, SelectiveSharingPolicy  # noqa: E402
from policies.rllib import (  # noqa: E402
    SharingRLModule,
    adaps_module,
    fups_module,
    kaleidoscope_module,
    module_policy,
    seps_module,
    shared_ppo_config,
    sharing_module,
    snp_ps_module,
    sparse_module,
)
from ps_wrappers.layout import get_layout  # noqa: E402
from ps_wrappers.rllib import ID_KEY, MASK_KEY, OBS_KEY, to_rllib  # noqa: E402
from ps_wrappers.testing import AgentIdentityEnv, ImageIdentityEnv, SpaceMapEnv  # noqa: E402

SWC = simple_world_comm_v3.parallel_env  # heterogeneous: padded observations and actions, 3 agent types


def _small_images() -> Any:
    return ImageIdentityEnv(n_agents=3, n_actions=3, image_size=7, channels=2)


def _padded_box() -> Any:
    box = spaces.Box(-1.0, 1.0, (3,), np.float32)
    return SpaceMapEnv({"a_0": box, "b_0": box}, {"a_0": spaces.Box(-1.0, 1.0, (2,), np.float32),
                                                  "b_0": spaces.Box(-1.0, 1.0, (4,), np.float32)})


def build(spec: Any, env_fn: Callable[[], Any] = SWC, agent_ids: bool = True, seed: int = 0) -> SharingRLModule:
    """The learner-side module a ``shared_ppo_config`` would build for ``env_fn``."""
    config = shared_ppo_config(env_fn, module=spec, seed=seed, agent_ids=agent_ids)
    done = config.rl_module_spec
    env = to_rllib(env_fn)
    obs_space = env.observation_spaces[env.possible_agents[0]]
    if agent_ids:
        ids = spaces.Box(0.0, 1.0, (len(env.possible_agents),), np.float32)
        obs_space = spaces.Dict({**obs_space.spaces, ID_KEY: ids})
    done.observation_space, done.action_space = obs_space, env.action_spaces[env.possible_agents[0]]
    module = done.build()
    assert isinstance(module, SharingRLModule)
    return module


def slot_batch(env_fn: Callable[[], Any], n_envs: int = 2, steps: int = 3) -> tuple[Any, dict]:
    """Slot observations of the SB3 vec env, and the same rows as an RLlib batch."""
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=n_envs, seed=1)
    layout = get_layout(venv.observation_space)
    obs = venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(steps):
        obs, *_ = venv.step(random_valid_actions(obs, layout, venv.action_space, rng))
    tensors = {k: torch.as_tensor(v) for k, v in obs.items()} if isinstance(obs, dict) else torch.as_tensor(obs)
    features, one_hot, _, mask = layout.split(tensors)
    batch = {OBS_KEY: features, ID_KEY: one_hot.float()}
    if layout.n_actions:
        batch[MASK_KEY] = mask.float()
    venv.close()
    return tensors, {Columns.OBS: batch}


def _dist_inputs(module: SharingRLModule, batch: dict) -> torch.Tensor:
    with torch.no_grad():
        return module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]


METHODS = {
    "FuPS": (fups_module(), SharedMLP),
    "FuPS+id": (fups_module(agent_id=True), SharedMLP),
    "SePS (by type)": (seps_module(), RoutedMLP),
    "SNP-PS": (snp_ps_module(actor_pruning=[0.0, 0.5]), NeuronMaskedMLP),
    "AdaPS": (adaps_module(clusters=[0, 0, 0, 0, 1, 1]), NeuronMaskedMLP),
    "sparse FuPS+id": (sparse_module(agent_id=True), SharedMLP),
    "sparse SNP-PS": (sparse_module(PrunedMaskPolicy, sparsity=0.5), NeuronMaskedMLP),
    "Kaleidoscope": (kaleidoscope_module(), LearnedMaskMLP),
}


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_is_the_sb3_policy_with_the_modules_weights(name: str) -> None:
    spec, head_class = METHODS[name]
    module = build(spec)
    assert type(module.pi) is head_class and type(module.vf) is head_class
    policy = module_policy(module, SWC)  # the SB3 PPO policy of the method, the module's state loaded strictly
    assert type(policy.policy_network) is head_class
    obs, batch = slot_batch(SWC)
    with torch.no_grad():
        sb3_logits = policy.get_distribution(obs).distribution.logits
        sb3_values = policy.predict_values(obs).squeeze(-1)
        values = module.compute_values(batch)
    ours = torch.log_softmax(_dist_inputs(module, batch), -1)
    torch.testing.assert_close(ours, sb3_logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(values, sb3_values, rtol=0, atol=1e-6)
    if name.startswith("sparse"):
        topology = module.sparse_topology
        assert isinstance(topology, SparseTopology) and abs(topology.sparsity() - spec.model_config["policy_kwargs"]["kwargs"]["sparsity"]) < 0.01
        assert all(bool((layer.weight[~layer.weight_mask] == 0).all()) for _, layer in topology.layers)


def test_masks_clusters_and_log_std_are_those_sb3_draws_from_the_same_options() -> None:
    env = to_rllib(SWC)
    venv = ps_wrappers.make_vec_env(SWC, n_envs=1)
    snp = build(snp_ps_module(mask_seed=7))
    sb3 = PrunedMaskPolicy(venv.observation_space, venv.action_space, lambda _: 0.0, mask_seed=7)
    for ours, theirs in zip(snp.pi.masks() + snp.vf.masks(), sb3.policy_network.masks() + sb3.value_network.masks()):
        assert torch.equal(ours, theirs)
    seps = build(seps_module())
    reference = SelectiveSharingPolicy(venv.observation_space, venv.action_space, lambda _: 0.0)
    assert seps.pi.cluster_of_agent.tolist() == list(reference.cluster_of_agent) == [0, 1, 1, 1, 2, 2]
    assert env.possible_agents[0] == "leadadversary_0"
    kal = build(kaleidoscope_module())
    assert LearnedMaskPolicy(venv.observation_space, venv.action_space, lambda _: 0.0).policy_network.n_agents == kal.pi.n_agents == 6


def test_one_init_seed_builds_one_module_on_every_process() -> None:
    for spec in (snp_ps_module(), sparse_module(agent_id=True), kaleidoscope_module()):
        first, again, other = build(spec, seed=3), build(spec, seed=3), build(spec, seed=4)
        a, b, c = first.state_dict(), again.state_dict(), other.state_dict()
        assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
        assert any(not torch.equal(a[k], c[k]) for k in a)


def test_invalid_actions_get_zero_probability_and_are_never_sampled() -> None:
    module = build(snp_ps_module())
    _, batch = slot_batch(SWC, n_envs=4)
    out = module.forward_exploration(batch)[Columns.ACTION_DIST_INPUTS]
    mask = batch[Columns.OBS][MASK_KEY]
    assert bool((mask == 0).any())  # the padded agents' extra actions
    assert torch.all(torch.softmax(out, -1)[mask == 0] == 0)
    dist = module.get_exploration_action_dist_cls().from_logits(out)
    assert torch.all(mask.gather(1, torch.stack([dist.sample() for _ in range(20)]).T) == 1)
    assert torch.isfinite(dist.entropy()).all()


def test_fups_ignores_the_agent_and_fups_id_reads_it() -> None:
    _, batch = slot_batch(AgentIdentityEnv)
    obs = batch[Columns.OBS]
    obs[OBS_KEY] = obs[OBS_KEY][:1].expand(len(obs[OBS_KEY]), -1).clone()  # one observation, every agent
    fups = _dist_inputs(build(fups_module(), AgentIdentityEnv), batch)
    assert torch.equal(fups, fups[:1].expand_as(fups))
    fups_id = _dist_inputs(build(fups_module(agent_id=True), AgentIdentityEnv), batch)
    assert not torch.allclose(fups_id[0], fups_id[1])


@pytest.mark.parametrize("spec", [fups_module(agent_id=True), snp_ps_module(mask_channels=True), seps_module("agent"),
                                  fups_module(agent_id=True, id_input="planes")], ids=["FuPS+id", "SNP-PS channels", "SePS", "planes"])
def test_images_go_through_the_methods_cnn_trunk_as_in_sb3(spec: Any) -> None:
    module = build(spec, _small_images)
    assert module.layout.is_image and module.trunk.features_dim == 256
    obs, batch = slot_batch(_small_images)
    assert batch[Columns.OBS][OBS_KEY].dtype == torch.uint8  # scaled by the module, as SB3 does
    policy = module_policy(module, _small_images)
    with torch.no_grad():
        sb3 = policy.get_distribution(obs).distribution.logits
    torch.testing.assert_close(torch.log_softmax(_dist_inputs(module, batch), -1), sb3, rtol=0, atol=1e-5)


def test_box_log_std_is_shared_or_per_cluster_and_padded_dimensions_are_constant() -> None:
    fups = build(fups_module(agent_id=True), _padded_box)
    seps = build(seps_module("agent"), _padded_box)
    assert tuple(fups.log_std.log_std.shape) == (1, 4) and tuple(seps.log_std.log_std.shape) == (2, 4)
    with torch.no_grad():
        seps.log_std.log_std[1] = -1.0
    _, batch = slot_batch(_padded_box)
    agent_a = batch[Columns.OBS][ID_KEY][:, 0] > 0.5
    for module in (fups, seps):
        out = module.forward_train(batch)[Columns.ACTION_DIST_INPUTS]
        mean, log_std = out[:, :4], out[:, 4:]
        # a_0 acts with 2 of the 4 padded dimensions: the other two are N(0, 1), out of every gradient.
        assert torch.all(mean[agent_a, 2:] == 0) and torch.all(log_std[agent_a, 2:] == 0)
        grads = torch.autograd.grad(out[agent_a][:, [2, 3, 6, 7]].sum(), list(module.parameters()), allow_unused=True)
        assert all(g is None or not g.any() for g in grads)
        assert bool((mean[agent_a, :2] != 0).all())
    assert torch.all(seps.forward_train(batch)[Columns.ACTION_DIST_INPUTS][~agent_a, 4:] == -1.0)
    policy = module_policy(fups, _padded_box)
    assert tuple(policy.log_std.shape) == (4,)


def test_multidiscrete_masks_apply_per_dimension() -> None:
    def env() -> Any:
        box = spaces.Box(-1.0, 1.0, (2,), np.float32)
        return SpaceMapEnv({"a": box, "b": box}, {"a": spaces.MultiDiscrete([3, 2]), "b": spaces.MultiDiscrete([2, 4, 2])})

    module = build(snp_ps_module(), env)
    _, batch = slot_batch(env, n_envs=8)
    mask = batch[Columns.OBS][MASK_KEY]
    dist = module.get_exploration_action_dist_cls().from_logits(module.forward_exploration(batch)[Columns.ACTION_DIST_INPUTS])
    starts = [0, 3, 7]
    for _ in range(10):
        action = dist.sample()
        for d, start in enumerate(starts):
            assert torch.all(mask[:, start:].gather(1, action[:, d : d + 1]) == 1)


def test_appo_target_networks_copy_the_actor_and_mask_like_it() -> None:
    module = build(snp_ps_module(), SWC)
    module.make_target_networks()
    _, batch = slot_batch(SWC)
    online = _dist_inputs(module, batch)
    target = module.forward_target(batch)[TARGET_NETWORK_ACTION_DIST_INPUTS]
    assert torch.equal(online, target)
    with torch.no_grad():
        module.pi.head.weight.add_(1.0)
    assert torch.equal(module.forward_target(batch)[TARGET_NETWORK_ACTION_DIST_INPUTS], target)
    assert {id(a) for a, _ in module.get_target_network_pairs()} == {id(module.trunk), id(module.pi)}
    assert "_old_pi" in module.get_non_inference_attributes()


def test_bad_configurations_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match=r"PrunedMaskPolicy on RLlib takes no \['pruning_ratio'\]; besides its method options"):
        snp_ps_module(pruning_ratio=0.5)
    with pytest.raises(ValueError, match=r"policy must be one of \[.*\] \(policies.ppo\), got 'FullSharingQPolicy'"):
        sharing_module("FullSharingQPolicy")
    with pytest.raises(ValueError, match=r"fups_module: hidden must be a sequence of positive ints, got \(64, 0\)"):
        fups_module(hidden=(64, 0))
    with pytest.raises(ValueError, match=r"fups_module: activation must be one of \['relu', 'tanh'\], got 'gelu'"):
        fups_module(activation="gelu")
    with pytest.raises(TypeError, match=r"cannot store clusters="):
        seps_module(clusters=lambda agent: 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"rows carry no agent identity.*On RLlib the identity is obs\['agent_id'\]: add ps_wrappers.rllib.AgentIdOneHot"):
        build(snp_ps_module(), agent_ids=False)
    spec = fups_module(agent_id=True)
    spec.observation_space, spec.action_space = spaces.Box(-1.0, 1.0, (6,), np.float32), spaces.Discrete(3)
    with pytest.raises(TypeError, match=r"needs the observation space of a ps_wrappers.rllib.to_rllib env"):
        spec.build()
    seps = seps_module()
    seps.observation_space = spaces.Dict({OBS_KEY: spaces.Box(-1.0, 1.0, (6,), np.float32), ID_KEY: spaces.Box(0.0, 1.0, (2,), np.float32)})
    seps.action_space = spaces.Discrete(3)
    with pytest.raises(ValueError, match=r"model_config has no 'agents'.*build the config with policies.rllib.shared_ppo_config"):
        seps.build()
    fups = fups_module()
    fups.observation_space = spaces.Dict({OBS_KEY: spaces.Box(-1.0, 1.0, (6,), np.float32), MASK_KEY: spaces.Box(0.0, 1.0, (5,), np.float32)})
    fups.action_space = spaces.Discrete(4)
    with pytest.raises(ValueError, match=r"obs\['action_mask'\] has 5 entries but the action space Discrete\(4\) has 4 actions"):
        fups.build()
    fups.action_space = spaces.MultiBinary(5)
    with pytest.raises(TypeError, match=r"supports Discrete, MultiDiscrete and flat Box actions on RLlib, got MultiBinary"):
        fups.build()
    with pytest.raises(ValueError, match=r"module_policy: this module was built inference-only"):
        runner = build(fups_module(agent_id=True))
        runner.inference_only = True
        module_policy(runner, SWC)
