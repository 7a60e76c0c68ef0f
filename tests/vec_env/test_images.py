"""Image observations stay images (issue 13): SlotDict slots, channels first, dtype kept."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from stable_baselines3 import PPO
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.vec_env import VecFrameStack, VecTransposeImage

import ps_wrappers as pw
from ps_wrappers.layout import ImageSlotLayout
from ps_wrappers.testing import Fault, HostileEnv
from tests.vec_env.conftest import random_masked_actions

IMAGE = spaces.Box(0, 255, (10, 8, 3), np.uint8)
ACT = spaces.Discrete(3, start=1)


def _rollout(venv: Any, steps: int, seed: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    out = [venv.reset()]
    for _ in range(steps):
        out.append(venv.step(random_masked_actions(venv, rng)))
    return out


def test_image_slot_entries_dtypes_and_values() -> None:
    env = HostileEnv(IMAGE, ACT, 3, [Fault(0, 1, "mask_on")])
    venv = pw.make_vec_env(env, seed=0)
    space = venv.observation_space
    assert isinstance(space, pw.SlotDict) and isinstance(venv.layout, ImageSlotLayout)
    assert list(space.spaces) == ["image", "agent", "acting", "action_mask"]
    assert space["image"] == spaces.Box(0, 255, (3, 10, 8), np.uint8)
    assert space["agent"].dtype == np.uint8 and space["acting"].dtype == np.uint8 and space["action_mask"].shape == (3,)
    assert is_image_space(space["image"]) and is_image_space_channels_first(space["image"])  # SB3 will not transpose
    obs = venv.reset()
    assert obs["image"].dtype == np.uint8 and obs["image"].shape == (3, 3, 10, 8)
    for j, a in enumerate(env.possible_agents):
        np.testing.assert_array_equal(obs["image"][j], np.moveaxis(env.emitted[a], -1, 0))
    np.testing.assert_array_equal(obs["agent"][:, 0], [0, 1, 2])
    np.testing.assert_array_equal(venv.action_masks()[1], env.masks["agent_1"].astype(bool))
    assert space.contains({k: v[0] for k, v in obs.items()})
    assert pw.get_layout(space) is venv.layout


@pytest.mark.parametrize(
    ("shape", "dtype", "images", "expected"),
    [
        ((10, 8, 3), np.uint8, "auto", (3, 10, 8)),  # channels last (smallest axis last)
        ((3, 10, 8), np.uint8, "auto", (3, 10, 8)),  # channels first
        ((10, 8), np.uint8, "auto", (1, 10, 8)),  # one channel
        ((13, 13, 5), np.float32, "auto", (5, 13, 13)),  # MAgent2: float images are images too
        ((4, 4, 6), np.float32, "channels_last", (6, 4, 4)),  # the heuristic would say channels first
        ((6, 4, 4), np.float32, "channels_first", (6, 4, 4)),
    ],
)
def test_channel_order_is_detected_or_forced(shape: tuple, dtype: Any, images: str, expected: tuple) -> None:
    high = 255 if dtype == np.uint8 else 1.0
    env = HostileEnv(spaces.Box(0, high, shape, dtype), ACT, 2)
    venv = pw.make_vec_env(env, seed=0, images=images)
    assert venv.layout.image_shape == expected and venv.layout.image_dtype == np.dtype(dtype).name
    obs = venv.reset()
    emitted = env.emitted["agent_1"]
    if len(shape) == 2:
        emitted = emitted[None]
    elif expected != shape:
        emitted = np.moveaxis(emitted, -1, 0)
    np.testing.assert_array_equal(obs["image"][1], emitted)


def test_flat_vectors_and_flatten_option_keep_the_old_rows() -> None:
    assert isinstance(pw.make_vec_env(HostileEnv(spaces.Box(0, 1, (4, 5), np.float32), ACT)).observation_space, pw.SlotBox)
    venv = pw.make_vec_env(HostileEnv(IMAGE, ACT), images="flatten", seed=0)
    assert isinstance(venv.observation_space, pw.SlotBox) and venv.layout.feature_dim == 240
    with pytest.raises(ValueError, match=r"images='channels_last' but the observation space .* is not an image"):
        pw.make_vec_env(HostileEnv(spaces.Box(0, 1, (4,)), ACT), images="channels_last")


def test_dict_observation_with_an_image_and_a_mask() -> None:
    obs_space = spaces.Dict({"pixels": IMAGE, "action_mask": spaces.MultiBinary(3)})
    env = pw.testing.SpaceMapEnv({"a": obs_space, "b": obs_space}, {"a": ACT, "b": ACT})
    venv = pw.make_vec_env(env, seed=0)
    obs = venv.reset()
    assert venv.layout.image_shape == (3, 10, 8)
    np.testing.assert_array_equal(obs["image"][0], np.moveaxis(env.emitted["a"]["pixels"], -1, 0))
    np.testing.assert_array_equal(obs["action_mask"][1], env.emitted["b"]["action_mask"])
    for _ in range(10):  # the env raises on a masked action
        venv.step(random_masked_actions(venv, np.random.default_rng(0)))


def test_dead_slots_terminal_observations_and_reset_infos() -> None:
    env = HostileEnv(IMAGE, ACT, 3, [Fault(2, 1, "die")], max_steps=4)
    venv = pw.make_vec_env(env, seed=0)
    venv.reset()
    venv.step(np.zeros(3, np.int64))
    obs, _, dones, infos = venv.step(np.zeros(3, np.int64))
    assert dones.tolist() == [False, True, False]
    terminal = infos[1]["terminal_observation"]
    assert set(terminal) == {"image", "agent", "acting", "action_mask"} and terminal["image"].shape == (3, 10, 8)
    np.testing.assert_array_equal(terminal["image"], np.moveaxis(env.emitted["agent_1"], -1, 0))
    assert not obs["image"][1].any() and obs["acting"][1, 0] == 0 and obs["action_mask"][1].sum() == 1
    assert "episode" in infos[1]
    obs, _, dones, infos = venv.step(np.zeros(3, np.int64))
    obs, _, dones, infos = venv.step(np.zeros(3, np.int64))  # time limit: the copy resets
    assert dones.all() and all("reset_info" in i for i in infos) and len(venv.reset_infos) == 3
    assert obs["acting"].all()


def test_subproc_image_slots_match_in_process() -> None:
    make = lambda: HostileEnv(IMAGE, ACT, 2, [Fault(1, 0, "mask_on"), Fault(2, 1, "die")], max_steps=5)  # noqa: E731
    local = _rollout(pw.make_vec_env(make, n_envs=2, seed=3), 8, seed=1)
    remote_env = pw.make_vec_env(make, n_envs=2, seed=3, vec_env_cls="subproc", n_workers=2)
    try:
        remote = _rollout(remote_env, 8, seed=1)
    finally:
        remote_env.close()
    for a, b in zip(local, remote):
        first_a, first_b = (a, b) if isinstance(a, dict) else (a[0], b[0])
        for key in first_a:
            np.testing.assert_array_equal(first_a[key], first_b[key])


def test_invalid_actions_on_image_slots() -> None:
    venv = pw.make_vec_env(HostileEnv(IMAGE, ACT, 2, [Fault(0, 0, "mask_on")]), seed=0)
    venv.reset()
    bad = int(np.flatnonzero(~venv.action_masks()[0])[0]) if not venv.action_masks()[0].all() else None
    if bad is not None:
        with pytest.raises(ValueError, match=r"slot 0 \(agent 'agent_0'\) chose action"):
            venv.step(np.array([bad, 0]))
    lenient = pw.make_vec_env(HostileEnv(IMAGE, ACT, 2, [Fault(0, 0, "mask_on")]), seed=0, invalid_action="random_valid")
    lenient.reset()
    _, _, _, infos = lenient.step(np.array([7, 0]))  # 7 is outside Discrete(3)
    assert infos[0]["invalid_action_replaced"] and lenient.invalid_action_counts == {"agent_0": 1}


def test_slot_vec_normalize_refuses_image_slots() -> None:
    with pytest.raises(TypeError, match=r"SlotVecNormalize: this vec env emits image slots .* scale uint8 images by 1/255"):
        pw.SlotVecNormalize(pw.make_vec_env(HostileEnv(IMAGE, ACT)))


def test_get_layout_names_the_vec_wrapper_that_rebuilt_the_slots() -> None:
    venv = pw.make_vec_env(HostileEnv(IMAGE, ACT), seed=0)
    with pytest.raises(TypeError, match=r"acting flag has shape \(2,\): VecFrameStack stacked every entry.*frame_stack_v1"):
        pw.get_layout(VecFrameStack(venv, 2).observation_space, "FullSharingPolicy")
    with pytest.warns(UserWarning, match="more channels than rows or columns"):
        wide = pw.make_vec_env(HostileEnv(spaces.Box(0, 255, (4, 4, 6), np.uint8), ACT), images="channels_last")
    transposed = VecTransposeImage(wide)  # what PPO(..., wide) adds by itself (SB3's _wrap_env)
    with pytest.raises(TypeError, match=r"the slot image has shape \(4, 6, 4\) but make_vec_env wrote \(6, 4, 4\).*VecTransposeImage"):
        pw.get_layout(transposed.observation_space, "FullSharingPolicy")


def test_maskable_ppo_and_evaluate_on_image_slots() -> None:
    envs: list[HostileEnv] = []

    def make() -> HostileEnv:
        envs.append(HostileEnv(spaces.Box(0, 255, (36, 36, 3), np.uint8), ACT, 2, [Fault(0, 0, "mask_on"), Fault(3, 1, "die")], max_steps=8))
        return envs[-1]

    venv = pw.make_vec_env(make, n_envs=2, seed=0)
    kwargs = dict(features_extractor_kwargs=dict(cnn_output_dim=16), net_arch=[16])
    model = MaskablePPO("MultiInputPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, policy_kwargs=kwargs, seed=0).learn(64)
    assert model.rollout_buffer.observations["image"].dtype == np.uint8
    assert sum(len(e.violations) for e in envs) == 0
    result = pw.evaluate(model, make, n_episodes=2)
    assert result.lengths == [8, 8] and sum(len(e.violations) for e in envs) == 0


def test_plain_ppo_multi_input_policy_trains_on_pistonball() -> None:
    from pettingzoo.butterfly import pistonball_v6

    venv = pw.make_vec_env(lambda: pistonball_v6.parallel_env(max_cycles=20), seed=0)
    assert venv.layout.image_shape == (3, 457, 120) and venv.num_envs == 20
    kwargs = dict(features_extractor_kwargs=dict(cnn_output_dim=16), net_arch=[16])
    model = PPO("MultiInputPolicy", venv, n_steps=4, batch_size=80, n_epochs=1, policy_kwargs=kwargs, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(80)
    image = model.rollout_buffer.observations["image"]
    assert image.dtype == np.uint8 and image.nbytes == 4 * 20 * 457 * 120 * 3  # no float copy of the images
    assert any(not np.array_equal(a.numpy(), b.detach().numpy()) for a, b in zip(before, model.policy.parameters()))


def test_padded_uint8_images_are_declared_0_255_so_sb3_scales_them() -> None:
    from ps_wrappers.testing import SpaceMapEnv

    obs = {"small_0": spaces.Box(0, 255, (6, 6, 3), np.uint8), "large_0": spaces.Box(0, 255, (8, 8, 3), np.uint8)}
    acts = {a: spaces.Discrete(3) for a in obs}
    venv = pw.make_vec_env(lambda: SpaceMapEnv(obs, acts), n_envs=1, seed=0)
    image = venv.observation_space["image"]
    assert image.shape == (3, 8, 8) and is_image_space(image)
    venv.reset()
