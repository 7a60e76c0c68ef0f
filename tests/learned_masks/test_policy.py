"""Kaleidoscope as an SB3 policy: the optimizer hook in PPO and DQN, gradients, diversity, reset, save / load."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO
from torch.optim.optimizer import register_optimizer_step_pre_hook

import ps_wrappers
from policies import (
    KaleidoscopeRegularizer,
    LearnedMaskCallback,
    LearnedMaskPolicy,
    LearnedMaskQPolicy,
    MaskedDQN,
    MaskScheduleWarning,
    set_mask_schedule,
)
from policies.learned.regularizer import diversity_loss
from policies.learned.training import learned_mask_networks, regularizers_of
from ps_wrappers.testing import AgentIdentityEnv, sample_slot_observations

PPO_KW = {"n_steps": 16, "batch_size": 32, "n_epochs": 2, "device": "cpu"}


def _venv(n_envs: int = 2, seed: int = 0):
    return ps_wrappers.make_vec_env(lambda: AgentIdentityEnv(4, 4, 4, 10), n_envs=n_envs, seed=seed)


def _thresholds(policy) -> list[torch.Tensor]:
    return [layer.thresholds for net in policy.learned_masks.networks for layer in net.mask_layers()]


def _equalise(policy) -> None:
    """Give every agent agent 0's thresholds: all masks identical."""
    with torch.no_grad():
        for threshold in _thresholds(policy):
            threshold.copy_(threshold[:1].expand_as(threshold))


def test_the_policy_attaches_one_regulariser_over_actor_and_critic():
    model = PPO(LearnedMaskPolicy, _venv(), seed=0, **PPO_KW)
    reg = model.policy.learned_masks
    assert isinstance(reg, KaleidoscopeRegularizer)
    assert reg.networks == [model.policy.policy_network, model.policy.value_network]
    assert reg.reset_timesteps == 200_000 and reg.div_coef == 0.5 and reg.coef_mode == "grad"
    # thresholds: N x weights per layer, trained by the policy's optimizer
    trained = {id(p) for group in model.policy.optimizer.param_groups for p in group["params"]}
    assert all(id(t) in trained and t.shape[0] == 4 for t in _thresholds(model.policy))
    # the regulariser's schedule is part of the policy's state dict
    assert {"learned_masks.step", "learned_masks.interval", "learned_masks.horizon"} <= set(model.policy.state_dict())


def _capture_grads(model, thresholds) -> tuple[list, list, list]:
    """Threshold gradients before the regulariser's hook (RL only), after it (RL + diversity), and
    the diversity loss of every step."""
    rl: list[list[torch.Tensor]] = []
    total: list[list[torch.Tensor]] = []
    losses: list[float] = []
    reg = model.policy.learned_masks

    def grab_rl(optimizer, args, kwargs):  # a global pre-hook runs before the optimizer's own
        if optimizer is model.policy.optimizer:
            rl.append([t.grad.detach().clone() for t in thresholds])

    handles = [
        register_optimizer_step_pre_hook(grab_rl),
        model.policy.optimizer.register_step_pre_hook(lambda o, a, k: total.append([t.grad.clone() for t in thresholds])),
        model.policy.optimizer.register_step_post_hook(lambda o, a, k: losses.append(reg.last.get("div_loss", 0.0))),
    ]
    return rl, total, losses, handles  # type: ignore[return-value]


def test_thresholds_get_the_rl_gradient_and_the_hook_adds_the_straight_through_diversity_gradient():
    model = PPO(LearnedMaskPolicy, _venv(), seed=0, policy_kwargs={"coef_mode": "fixed", "div_coef": 2.0}, **PPO_KW)
    set_mask_schedule(model, 64)
    networks = model.policy.learned_masks.networks
    thresholds = _thresholds(model.policy)
    before = [t.detach().clone() for t in thresholds]
    expected: list[list[torch.Tensor]] = []

    def straight_through(optimizer, args, kwargs):  # d (alpha L_div) / d s by autograd through the STE
        if optimizer is model.policy.optimizer:
            with torch.enable_grad():
                loss = 2.0 * sum(diversity_loss(net) for net in networks)
                expected.append([g.detach() for g in torch.autograd.grad(loss, thresholds)])

    rl, total, _, handles = _capture_grads(model, thresholds)
    handles.append(register_optimizer_step_pre_hook(straight_through))
    try:
        model.learn(64)
    finally:
        for handle in handles:
            handle.remove()
    assert len(rl) == int(model.policy.learned_masks.step) > 0
    # (K1): every layer's thresholds get an RL gradient and move
    assert all(bool(g.abs().sum() > 0) for g in rl[0])
    assert all(not torch.equal(a, b.detach()) for a, b in zip(before, thresholds))
    # (K2'): the hook adds exactly alpha * d L_div / d s, the straight-through gradient of the masks
    for step_rl, step_total, step_div in zip(rl, total, expected):
        for r, t, d in zip(step_rl, step_total, step_div):
            torch.testing.assert_close(t - r, d)
    assert any(bool(d.abs().sum() > 0) for d in expected[0])


def test_identical_masks_get_no_diversity_gradient_in_training():
    model = PPO(LearnedMaskPolicy, _venv(), seed=0, policy_kwargs={"coef_mode": "fixed", "div_coef": 100.0}, **PPO_KW)
    _equalise(model.policy)
    rl, total, losses, handles = _capture_grads(model, _thresholds(model.policy))
    try:
        set_mask_schedule(model, 128)
        model.learn(128)
    finally:
        for handle in handles:
            handle.remove()
    # While every agent keeps the same weights, |M_i - M_j| = 0 has subgradient 0: (K3) adds nothing.
    assert losses[0] == 0.0
    for r, t in zip(rl[0], total[0]):
        assert torch.equal(r, t)


def _weighted_distance(model: PPO) -> float:
    return -sum(float(diversity_loss(net).detach()) for net in model.policy.learned_masks.networks)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_diversity_term_widens_the_differences_between_agents_masks_in_ppo(seed):
    """On the identity task (same observations, a different rewarded action per agent) from the
    released initialisation, where masks differ on a few weights only: after the same PPO training,
    the masks' weighted distance (K3's objective, actor + critic) is clearly larger with the term
    (alpha = 2, "grad") than without (measured 1.33x and 1.58x for seeds 0 and 1; 1.2-1.3x with
    alpha = 0.5, 1.7-1.9x at 8,000 steps). From identical masks it can do nothing (test above)."""
    kw = {"n_steps": 32, "batch_size": 128, "learning_rate": 3e-3, "ent_coef": 0.0, "device": "cpu"}
    distances = []
    for coef in (0.0, 2.0):
        model = PPO(LearnedMaskPolicy, _venv(4), seed=seed, policy_kwargs={"div_coef": coef}, **kw)
        model.learn(4_000, callback=LearnedMaskCallback())
        distances.append(_weighted_distance(model))
    assert distances[1] > 1.2 * distances[0], distances


def _dead_weights(policy, rows: slice = slice(0, 8)) -> None:
    """Make the first rows of every layer but the first dead for every agent (tiny weights, thresholds ~1)."""
    with torch.no_grad():
        for net in policy.learned_masks.networks:
            for layer in net.mask_layers()[1:]:
                layer.weight[rows] = 1e-3
                layer.thresholds[:, rows] = 10.0


def test_resets_redraw_exactly_the_dead_weights_at_the_env_steps_of_the_schedule():
    # lr = 0: only the reset can change a weight. 2 copies x 4 agents x 16 steps = 128 timesteps per
    # rollout, 2 epochs x 4 minibatches = 8 optimizer steps per rollout.
    model = PPO(
        LearnedMaskPolicy, _venv(), seed=0, learning_rate=0.0,
        policy_kwargs={"reset_interval": 300, "reset_ratio": 1.0}, **PPO_KW,
    )
    policy = model.policy
    layers = [layer for net in policy.learned_masks.networks for layer in net.mask_layers()]
    first_layers = {0, len(policy.policy_network.mask_layers())}
    events: list[int] = []

    def snapshot() -> tuple[list, list]:
        _dead_weights(policy)  # weights dead for every agent, for the next reset to find
        dead = [~layer.masks().any(0) for layer in layers]
        return dead, [(layer.weight.detach().clone(), layer.thresholds.detach().clone()) for layer in layers]

    dead, state = snapshot()

    def watch(optimizer, args, kwargs):  # runs after the regulariser's post-hook
        nonlocal dead, state
        changed = [(layer.weight != w) | (layer.thresholds != t).any(0) for layer, (w, t) in zip(layers, state)]
        if not any(bool(c.any()) for c in changed):
            return
        events.append(model.num_timesteps)
        for index, (layer, mask) in enumerate(zip(layers, changed)):
            expected = torch.zeros_like(mask) if index in first_layers else dead[index]
            assert torch.equal(mask, expected), f"layer {index}: not exactly the weights every agent masks"
            assert bool((layer.weight[mask].abs() <= 1 / np.sqrt(layer.weight.shape[1])).all())  # kaiming bound
            fresh = layer.thresholds[:, mask]
            assert bool(((fresh >= -10) & (fresh <= -5)).all())
        dead, state = snapshot()

    policy.optimizer.register_step_post_hook(watch)
    model.learn(128 * 10, callback=LearnedMaskCallback())
    reg = policy.learned_masks
    assert reg.reset_interval == 3 * 8  # 300 timesteps -> 3 rollouts -> 24 optimizer steps
    # resets in the updates after rollouts 3 and 6 (384 and 768 timesteps); not after rollout 9:
    # the horizon is 80 steps, and step 72 lies within the last interval
    assert events == [384, 768]
    assert int(reg.last_reset) == 48


def test_without_a_schedule_training_warns_once_and_never_resets():
    model = PPO(LearnedMaskPolicy, _venv(), seed=0, learning_rate=0.0,
                policy_kwargs={"reset_interval": 1, "reset_ratio": 1.0}, **PPO_KW)
    _dead_weights(model.policy)
    before = model.policy.mlp_extractor.value_net.head.weight.detach().clone()
    with pytest.warns(MaskScheduleWarning, match=r"until policies.set_mask_schedule\(model, total_timesteps\)") as record:
        model.learn(256)
    assert len([w for w in record if w.category is MaskScheduleWarning]) == 1
    assert torch.equal(before, model.policy.mlp_extractor.value_net.head.weight)


def test_save_load_acts_identically_and_resumes_the_schedule(tmp_path: Path):
    model = PPO(LearnedMaskPolicy, _venv(), seed=0, policy_kwargs={"reset_interval": 200}, **PPO_KW)
    set_mask_schedule(model, 128 * 10)  # the whole training: 80 optimizer steps
    model.learn(128 * 4)
    reg = model.policy.learned_masks
    assert (int(reg.step), int(reg.last_reset), reg.reset_interval, int(reg.horizon)) == (32, 32, 16, 80)
    model.save(tmp_path / "model.zip")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaskScheduleWarning)  # the loaded schedule needs no new call
        loaded = PPO.load(tmp_path / "model.zip", env=_venv(seed=3), device="cpu")
        obs = sample_slot_observations(model.observation_space, 64, np.random.default_rng(0))
        np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
        for key, value in model.policy.state_dict().items():
            assert torch.equal(loaded.policy.state_dict()[key], value), key
        new = loaded.policy.learned_masks
        assert new is not reg and new._optimizer is loaded.policy.optimizer
        for key in ("step", "last_reset", "interval", "horizon", "history", "n_seen"):
            assert torch.equal(getattr(new, key), getattr(reg, key)), key
        loaded.learn(128 * 2, reset_num_timesteps=False)
    # the restored hooks count on from step 32 and reset at 32 + 16, as the schedule says
    assert (int(new.step), int(new.last_reset)) == (48, 48)


def test_dqn_trains_the_online_network_and_the_target_update_copies_the_thresholds():
    model = MaskedDQN(
        LearnedMaskQPolicy, _venv(), seed=0, learning_starts=16, buffer_size=500, train_freq=1,
        target_update_interval=8, device="cpu",
    )
    policy = model.policy
    online, target = policy.q_net.q_net, policy.q_net_target.q_net
    assert policy.learned_masks.networks == [online]  # the target is not regularised
    assert learned_mask_networks(policy) == [online, target]
    initial = target.head.thresholds.detach().clone()
    model.learn(200, callback=LearnedMaskCallback())
    assert not torch.equal(online.head.thresholds, initial)  # trained
    assert not torch.equal(online.head.thresholds, target.head.thresholds)  # trained since the last update
    model._on_step()  # SB3's target update (tau = 1)
    for a, b in zip(online.mask_layers(), target.mask_layers()):
        assert torch.equal(a.thresholds, b.thresholds) and torch.equal(a.weight, b.weight)
    obs = torch.as_tensor(sample_slot_observations(model.observation_space, 32, np.random.default_rng(1)))
    with torch.no_grad():
        assert torch.equal(policy.q_net(obs), policy.q_net_target(obs))


def test_the_callback_logs_density_and_overlap_per_network_and_agent():
    model = PPO(LearnedMaskPolicy, _venv(), seed=0, **PPO_KW)
    callback = LearnedMaskCallback()
    model.learn(128 * 2, callback=callback)
    assert [r["network"] for r in callback.history] == ["policy_net", "value_net"] * 2
    record = callback.history[-1]
    assert record["timesteps"] == 256 and 0.9 < record["density"] <= 1.0 and 0.9 < record["overlap"] <= 1.0
    assert len(record["agent_density"]) == 4
    callback.record()  # the logger was dumped at the end of training: record once more
    keys = set(model.logger.name_to_value)
    assert {"masks/policy_net/overlap", "masks/value_net/density", "masks/policy_net/density/agent_0",
            "masks/div_coef", "masks/last_reset"} <= keys


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"div_coef": -1.0}, ValueError, r"LearnedMaskPolicy: div_coef must be >= 0, got -1.0; Kaleidoscope's MPE value is 0.5"),
        ({"div_coef": "0.5"}, TypeError, r"LearnedMaskPolicy: div_coef must be a number, got '0.5'"),
        ({"coef_mode": "loss"}, ValueError, r"coef_mode must be one of \('grad', 'fixed'\), got 'loss' \('loss' needs the RL loss"),
        ({"coef_mode": "adaptive"}, ValueError, r"coef_mode must be one of \('grad', 'fixed'\), got 'adaptive'$"),
        ({"reset_interval": 0}, ValueError, r"reset_interval must be a positive int of env timesteps or None"),
        ({"reset_interval": 1.5e5}, ValueError, r"reset_interval must be a positive int of env timesteps or None .* got 150000.0"),
        ({"reset_ratio": 2}, ValueError, r"LearnedMaskPolicy: reset_ratio must be in \[0, 1\], got 2"),
        ({"threshold_init_scale": -1}, ValueError, r"threshold_init_scale must be >= 0"),
        ({"agent_id": "yes"}, TypeError, r"LearnedMaskPolicy: agent_id must be True or False, got 'yes'"),
        ({"clusters": [0, 1]}, ValueError, r"LearnedMaskPolicy: clusters must give one cluster id per agent \(3"),
        ({"clusters": "colour"}, ValueError, r"LearnedMaskPolicy: clusters='colour' is not a clustering"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, error, match):
    from tests.policies.policy_test_utils import lr, slot_space

    with pytest.raises(error, match=match):
        LearnedMaskPolicy(slot_space(), spaces.Discrete(4), lr, **kwargs)


def test_rows_without_agent_ids_are_refused():
    venv = ps_wrappers.make_vec_env(lambda: AgentIdentityEnv(4, 4, 4, 10), n_envs=1, seed=0, agent_ids=False)
    with pytest.raises(ValueError, match="LearnedMaskQPolicy gives every agent its own learned mask, but the vec env was built with agent_ids=False"):
        MaskedDQN(LearnedMaskQPolicy, venv)


def test_schedule_helpers_check_their_arguments():
    with pytest.raises(ValueError, match="LearnedMaskCallback: every must be a positive int of rollouts, got 0"):
        LearnedMaskCallback(every=0)
    model = PPO(LearnedMaskPolicy, _venv(), seed=0, **PPO_KW)
    with pytest.raises(ValueError, match="set_mask_schedule: total_timesteps must be a positive int, got 0"):
        set_mask_schedule(model, 0)
    plain = PPO("MlpPolicy", _venv(), seed=0, **PPO_KW)
    assert set_mask_schedule(plain, 100) is None  # nothing to schedule


def test_clusters_share_a_mask_within_a_cluster():
    model = PPO(LearnedMaskPolicy, _venv(), seed=0, policy_kwargs={"clusters": [0, 0, 1, 1]}, **PPO_KW)
    net = model.policy.policy_network
    assert net.n_masks == 2 and net.mask_layers()[0].thresholds.shape[0] == 2
    set_mask_schedule(model, 128)
    model.learn(128)
    masks = net.agent_masks()
    for layer in masks:
        assert torch.equal(layer[0], layer[1]) and torch.equal(layer[2], layer[3])


def test_the_defaults_are_the_released_mpe_settings_everywhere():
    import inspect

    from policies.learned.regularizer import KALEIDOSCOPE_DEFAULTS
    from policies.methods.learned import LEARNED_MASK_DEFAULTS, LearnedMask
    from policies.methods.options import LearnedMaskOptions

    for target in (LearnedMask.__init__, LearnedMaskOptions.__init__):
        parameters = inspect.signature(target).parameters
        assert {k: parameters[k].default for k in LEARNED_MASK_DEFAULTS} == LEARNED_MASK_DEFAULTS
    assert LearnedMask().options() == LEARNED_MASK_DEFAULTS
    for key in ("div_coef", "coef_mode", "reset_ratio", "reset_first_layer"):
        assert LEARNED_MASK_DEFAULTS[key] == KALEIDOSCOPE_DEFAULTS[key]


def test_td3_actor_masks_count_their_own_delayed_optimizer_steps():
    """TD3 steps its actor once per ``policy_delay`` critic steps: its schedule is in its own steps."""
    from stable_baselines3 import TD3

    import ps_wrappers
    from policies import td3
    from ps_wrappers.testing import ContinuousIdentityEnv

    venv = ps_wrappers.make_vec_env(ContinuousIdentityEnv, n_envs=1, seed=0)
    model = TD3(td3.LearnedMaskPolicy, venv, learning_starts=16, buffer_size=500, policy_delay=2, seed=0,
                policy_kwargs={"reset_interval": 80}, device="cpu")
    actor = {id(m) for m in model.policy.actor.modules()}
    schedules = dict(zip([id(r) in actor for r in regularizers_of(model)], set_mask_schedule(model, 160)))
    (actor_interval, actor_horizon), (critic_interval, critic_horizon) = schedules[True], schedules[False]
    # 160 agent-steps = 40 env steps of 4 slots, 4 of them warm-up: 36 critic steps, 18 actor steps
    assert critic_horizon == 36 and actor_horizon == 18
    assert actor_interval == critic_interval // 2
    model.learn(160)
    assert {id(r) in actor: int(r.step) for r in regularizers_of(model)} == {True: 18, False: 36}
