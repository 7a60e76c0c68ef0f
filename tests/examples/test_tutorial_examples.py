"""PettingZoo's three SB3 tutorials, ported to one line of ps-toolkit, run a short budget (issue 13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from examples import connect_four, knights_archers_zombies, pistonball

torch.set_num_threads(1)


def test_pistonball_trains_a_cnn_policy_on_uint8_image_slots(tmp_path: Path) -> None:
    args = pistonball.Args(
        steps=600, n_pistons=4, max_cycles=20, n_envs=1, n_steps=50, batch_size=100, eval_episodes=1, out=tmp_path
    )
    result = pistonball.main(args)
    assert result["observation"] == "SlotDict(image=(3, 84, 84) uint8, agents=4, acting=1, mask=0)"
    assert np.isfinite(result["trained_team_return"]) and (tmp_path / "model.zip").exists()


@pytest.mark.parametrize(("obs", "space"), [
    ("vector", "SlotBox(features=135, agents=4, acting=1, mask=6)"),
    ("visual", "SlotDict(image=(3, 84, 84) uint8, agents=4, acting=1, mask=6)"),
])
def test_knights_archers_zombies_with_dying_agents_in_both_observation_modes(obs: str, space: str, tmp_path: Path) -> None:
    args = knights_archers_zombies.Args(
        obs=obs, steps=600, max_cycles=30, n_envs=1, n_steps=50, batch_size=100, eval_episodes=1, out=tmp_path
    )
    result = knights_archers_zombies.main(args)
    assert result["observation"] == space
    assert np.isfinite(result["trained_team_return"])


def test_connect_four_self_play_never_plays_a_full_column(tmp_path: Path) -> None:
    args = connect_four.Args(steps=1024, n_envs=2, n_steps=64, batch_size=64, eval_games=6, out=tmp_path)
    result = connect_four.main(args)  # an illegal move would raise inside the env or the vec env
    after = result["after"]
    assert abs(after["win"] + after["draw"] + after["loss"] - 1.0) < 1e-9


def test_an_unknown_option_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"--obs must be 'vector' or 'visual', got 'pixels'"):
        knights_archers_zombies.make_env(knights_archers_zombies.Args(obs="pixels"))
