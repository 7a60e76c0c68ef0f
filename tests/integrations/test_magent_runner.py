"""MagentRunner (MAgent2's team arrays) against ParallelRunner (the env's dicts), step for step.

The fast runner must be an exact stand-in: same observations, rewards, dones and infos through
the common step, deaths, the time limit and auto-resets, and the same refusal of a bad image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import ps_wrappers
import ps_wrappers.construction as construction
from ps_wrappers.errors import ObservationError
from ps_wrappers.magent_runner import MagentRunner, fix_team_sizes
from ps_wrappers.parallel_runner import ParallelRunner

battle_v4 = pytest.importorskip("magent2.environments.battle_v4")
battlefield_v5 = pytest.importorskip("magent2.environments.battlefield_v5")
tiger_deer_v4 = pytest.importorskip("magent2.environments.tiger_deer_v4")


def _battle() -> Any:
    return battle_v4.parallel_env(map_size=20, max_cycles=260)  # 24 agents; deaths at steps 217 and 252 below


def _corrected(env_fn: Any) -> Any:
    """``env_fn`` whose envs get MAgent2's team sizes corrected after each reset (fix_team_sizes)."""

    def make() -> Any:
        env = env_fn()
        reset = env.reset

        def corrected_reset(*args: Any, **kwargs: Any) -> Any:
            out = reset(*args, **kwargs)
            fix_team_sizes(env)
            return out

        env.reset = corrected_reset
        return env

    return make


def _pair(env_fn: Any, monkeypatch: pytest.MonkeyPatch, n_envs: int = 1) -> tuple[Any, Any]:
    """The vec env with MagentRunner, and the dict path (ParallelRunner) on the corrected env."""
    fast = ps_wrappers.make_vec_env(env_fn, n_envs=n_envs, seed=0)
    with monkeypatch.context() as m:
        m.setattr(construction, "magent_accepts", lambda env, spec: False)
        slow = ps_wrappers.make_vec_env(_corrected(env_fn), n_envs=n_envs, seed=0)
    return fast, slow


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            if k != "t":  # wall-clock seconds of an episode
                _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
        assert a.dtype == b.dtype, where
    else:
        assert a == b, where


def _policy(rng: np.random.Generator, n: int) -> np.ndarray:
    """Half the agents attack (actions 13..20), the rest move at random: some agents die."""
    attack = rng.integers(13, 21, size=n)
    return np.where(rng.random(n) < 0.5, attack, rng.integers(0, 21, size=n))


def test_fast_runner_is_taken_for_plain_magent_envs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _pair(_battle, monkeypatch)
    assert type(fast.runners[0]) is MagentRunner and type(slow.runners[0]) is ParallelRunner
    assert type(ps_wrappers.make_vec_env(lambda: battlefield_v5.parallel_env(map_size=46)).runners[0]) is MagentRunner
    others = {
        "minimap": lambda: battle_v4.parallel_env(map_size=20, minimap_mode=True),
        "extra features": lambda: battle_v4.parallel_env(map_size=20, extra_features=True),
        "padded views (tigers 9x9, deer 3x3)": lambda: tiger_deer_v4.parallel_env(map_size=12),
        "wrapped": lambda: ps_wrappers.testing.action_audit(_battle()),
    }
    for what, fn in others.items():
        assert type(ps_wrappers.make_vec_env(fn).runners[0]) is ParallelRunner, what


def test_fast_runner_matches_the_dict_path_through_deaths_truncation_and_resets(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _pair(_battle, monkeypatch, n_envs=2)
    _same(fast.reset(), slow.reset(), "reset")
    rng = np.random.default_rng(0)
    deaths = truncations = 0
    for t in range(300):
        actions = _policy(rng, fast.num_envs)
        got, want = fast.step(actions), slow.step(actions)
        for name, a, b in zip(("obs", "rewards", "dones"), got[:3], want[:3]):
            _same(a, b, f"step {t} {name}")
        for i, (a, b) in enumerate(zip(got[3], want[3])):
            _same(a, b, f"step {t} info {i}")
            if "terminal_observation" in a:
                truncations += a["TimeLimit.truncated"]
                deaths += not a["TimeLimit.truncated"] and "episode" in a and t < 259
    assert deaths >= 2 and truncations >= 40  # agents died mid-episode; both copies hit the time limit
    assert fast.runners[0].episode == 2  # auto-reset happened on the fast path's env
    assert fast.runners[0].env.team_sizes == [12, 12]  # corrected after the auto-reset too


def test_magent2_first_step_defect_is_real_and_corrected() -> None:
    """MAgent2 0.3.4 sends the first team's actions to every team on an episode's first step."""
    raw = _battle()
    raw.reset(seed=0)
    assert raw.team_sizes == [0, 0]  # the defect fix_team_sizes corrects
    venv = ps_wrappers.make_vec_env(_battle, seed=0)
    venv.reset()
    assert venv.runners[0].env.team_sizes == [12, 12]


def test_fast_runner_refuses_an_image_outside_its_space_naming_the_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    venv = ps_wrappers.make_vec_env(_battle, seed=0)
    venv.reset()
    game = venv.runners[0].env.env
    real = game.get_observation

    def poisoned(handle: Any) -> tuple[np.ndarray, np.ndarray]:
        view, features = real(handle)
        view = view.copy()
        if handle.value == 1:
            view[2, 0, 0, 0] = np.nan
        return view, features

    monkeypatch.setattr(game, "get_observation", poisoned)
    with pytest.raises(ObservationError, match=r"agent 'blue_2'.*nan"):
        venv.step(np.zeros(venv.num_envs, dtype=np.int64))
