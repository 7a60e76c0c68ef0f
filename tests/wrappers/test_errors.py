"""Every bad-input path of the wrappers raises the right exception with a message that names the
wrapper, the agent, the space and the fix (pinned with ``pytest.raises(match=...)``)."""

from __future__ import annotations

import re
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.utils.conversions import parallel_to_aec

from ps_wrappers import (
    SpacePaddingError,
    agent_indicator,
    agent_type,
    pad_actions,
    pad_observations,
    unpad_observation,
)
from ps_wrappers.testing import SpaceMapEnv

BOX = spaces.Box(-1.0, 1.0, (3,), np.float32)
D2 = spaces.Discrete(2)


def env_of(obs: dict, acts: dict | None = None, aec: bool = False) -> Any:
    acts = acts if acts is not None else {a: D2 for a in obs}
    env = SpaceMapEnv(obs, acts)
    return parallel_to_aec(env) if aec else env


WRAPPERS = [pad_observations, pad_actions, agent_indicator]


@pytest.mark.parametrize("wrapper", WRAPPERS, ids=lambda w: w.__name__)
@pytest.mark.parametrize("bad", [object(), "simple_tag_v3", gymnasium.make("CartPole-v1")], ids=["object", "str", "gym"])
def test_non_pettingzoo_env_is_a_type_error(wrapper: Any, bad: Any) -> None:
    pattern = rf"{wrapper.__name__} expects a PettingZoo ParallelEnv or AECEnv, but got {type(bad).__name__}\. Pass `module\.parallel_env\(\)`"
    with pytest.raises(TypeError, match=pattern):
        wrapper(bad)


@pytest.mark.parametrize("wrapper", WRAPPERS, ids=lambda w: w.__name__)
def test_env_without_possible_agents(wrapper: Any) -> None:
    env = SpaceMapEnv({}, {})
    with pytest.raises(ValueError, match=rf"{wrapper.__name__}: the environment .* has no possible_agents"):
        wrapper(env)


@pytest.mark.parametrize("aec", [False, True], ids=["parallel", "aec"])
def test_mixed_discrete_and_box_actions(aec: bool) -> None:
    env = env_of({"red_0": BOX, "blue_0": BOX}, {"red_0": spaces.Discrete(5), "blue_0": BOX}, aec)
    pattern = (
        r"pad_actions: agents have action spaces of different types \('red_0': Discrete\(5\), "
        r"'blue_0': Box\(.*\)\); a shared policy needs one type\. Give the agents one action type"
    )
    with pytest.raises(ValueError, match=pattern):
        pad_actions(env)


@pytest.mark.parametrize("aec", [False, True], ids=["parallel", "aec"])
def test_mixed_observation_types(aec: bool) -> None:
    env = env_of({"agent_0": BOX, "agent_1": spaces.Discrete(4)}, aec=aec)
    pattern = (
        r"pad_observations: cannot pad observation spaces of different types: 'agent_0': Box\(.*\), "
        r"'agent_1': Discrete\(4\)\. Convert every agent's observation space to one type first"
    )
    with pytest.raises(SpacePaddingError, match=pattern):
        pad_observations(env)
    assert issubclass(SpacePaddingError, ValueError)


def test_observations_of_different_ranks() -> None:
    env = env_of({"a": BOX, "b": spaces.Box(0, 1, (2, 2))})
    with pytest.raises(SpacePaddingError, match=r"pad_observations: cannot pad observation spaces of different ranks: 'a': Box.*'b': Box.*Reshape the observations to one rank first"):
        pad_observations(env)


def test_box_actions_of_different_ranks() -> None:
    env = env_of({"a": BOX, "b": BOX}, {"a": spaces.Box(-1, 1, (2,)), "b": spaces.Box(-1, 1, (2, 2))})
    with pytest.raises(SpacePaddingError, match=r"pad_actions: cannot pad action spaces of different ranks: .*Reshape the actions"):
        pad_actions(env)


def test_multibinary_observations_of_different_ranks() -> None:
    env = env_of({"a": spaces.MultiBinary(3), "b": spaces.MultiBinary([2, 2])})
    with pytest.raises(SpacePaddingError, match=r"different ranks: 'a': MultiBinary\(3\), 'b': MultiBinary\(\(2, 2\)\)"):
        pad_observations(env)


def test_dict_observations_with_different_keys() -> None:
    env = env_of({"a": spaces.Dict({"pos": BOX}), "b": spaces.Dict({"pos": BOX, "vel": BOX})})
    pattern = (
        r"pad_observations: cannot pad Dict observation spaces with different keys: agent 'a' has "
        r"\['pos'\] but agent 'b' has \['pos', 'vel'\]\. Give every agent the same keys\."
    )
    with pytest.raises(SpacePaddingError, match=pattern):
        pad_observations(env)


def test_dict_entry_of_different_types_names_the_entry() -> None:
    env = env_of({"a": spaces.Dict({"pos": BOX}), "b": spaces.Dict({"pos": D2})})
    with pytest.raises(SpacePaddingError, match=r"cannot pad observation\['pos'\] spaces of different types: 'a': Box"):
        pad_observations(env)


def test_tuple_observations_of_different_lengths() -> None:
    env = env_of({"a": spaces.Tuple([D2]), "b": spaces.Tuple([D2, D2])})
    with pytest.raises(SpacePaddingError, match=r"Tuple observation spaces of different lengths: agent 'a' has 1 entries but agent 'b' has 2\. Give every agent the same entries"):
        pad_observations(env)


def test_multidimensional_multidiscrete() -> None:
    md = spaces.MultiDiscrete([[2, 3], [2, 2]])
    with pytest.raises(SpacePaddingError, match=r"(?s)cannot pad multi-dimensional MultiDiscrete observation spaces: 'a': MultiDiscrete.*Flatten nvec"):
        pad_observations(env_of({"a": md, "b": md}))


@pytest.mark.parametrize(
    "space",
    [spaces.Text(5), spaces.Graph(spaces.Box(0, 1, (2,)), spaces.Discrete(2)), spaces.Sequence(D2)],
    ids=["Text", "Graph", "Sequence"],
)
def test_unpaddable_observation_spaces(space: spaces.Space) -> None:
    env = env_of({"agent_0": space, "agent_1": space})
    pattern = (
        rf"pad_observations: cannot pad observation space {re.escape(str(space))} \(agents 'agent_0': .*\): "
        r"supported are Box, Discrete, MultiDiscrete, MultiBinary, Dict and Tuple\. Convert"
    )
    with pytest.raises(NotImplementedError, match=pattern):
        pad_observations(env)


@pytest.mark.parametrize("space", [spaces.Text(5), spaces.Graph(spaces.Box(0, 1, (2,)), None)], ids=["Text", "Graph"])
def test_unpaddable_action_spaces(space: spaces.Space) -> None:
    env = env_of({"agent_0": BOX, "agent_1": BOX}, {"agent_0": space, "agent_1": space})
    pattern = (
        rf"pad_actions: agent 'agent_0' has action space {re.escape(str(space))}, which cannot be padded; "
        r"supported are Discrete, MultiDiscrete, Box and MultiBinary\. Wrap the env"
    )
    with pytest.raises(NotImplementedError, match=pattern):
        pad_actions(env)


@pytest.mark.parametrize("mode", ["ignore", "clip", None, "RAISE"])
def test_invalid_action_mode(mode: Any) -> None:
    with pytest.raises(ValueError, match=rf"pad_actions: invalid_action must be 'raise' or 'random_valid', got {re.escape(repr(mode))}"):
        pad_actions(env_of({"a": BOX}), invalid_action=mode)


@pytest.mark.parametrize("aec", [False, True], ids=["parallel", "aec"])
def test_padded_action_raises_naming_agent_space_and_fix(aec: bool) -> None:
    acts = {"leadadversary_0": spaces.Discrete(20), "agent_0": spaces.Discrete(5, start=1)}
    env = pad_actions(env_of({a: BOX for a in acts}, acts, aec))
    env.reset(seed=0)
    pattern = (
        r"pad_actions: action 7 of agent 'agent_0' is a padded action outside its own action space "
        r"Discrete\(5, start=1\); it must never reach the environment\. Choose actions inside "
        r"env\.action_mask\(agent\).*or pass invalid_action='random_valid'"
    )
    if aec:
        while env.agent_selection != "agent_0":
            env.step(0)
        with pytest.raises(ValueError, match=pattern):
            env.step(7)
    else:
        with pytest.raises(ValueError, match=pattern):
            env.step({"leadadversary_0": 0, "agent_0": 7})
    assert env.unwrapped.received == []


@pytest.mark.parametrize("action", [1.5, np.float32(1.0), np.array([1, 2]), "1", None])
def test_non_integer_discrete_action(action: Any) -> None:
    env = pad_actions(env_of({"a": BOX, "b": BOX}, {"a": spaces.Discrete(3), "b": spaces.Discrete(5)}))
    env.reset(seed=0)
    pattern = (
        r"pad_actions: agent 'a' has the Discrete action space Discrete\(5\), so its action must be "
        rf"an integer, got {re.escape(repr(action))} \({type(action).__name__}\)\. Pass a Python or NumPy integer"
    )
    with pytest.raises(TypeError, match=pattern):
        env.step({"a": action, "b": 0})


def test_action_mask_shorter_than_the_action_space() -> None:
    obs = {"a": spaces.Dict({"action_mask": spaces.Box(0, 1, (2,), np.int8)})}
    with pytest.raises(ValueError, match=r"pad_actions: agent 'a' has an action_mask Box\(0, 1, \(2,\), int8\) of 2 entries but action space Discrete\(3\) with 3 actions; the mask must have one entry per action"):
        pad_actions(env_of(obs, {"a": spaces.Discrete(3)}))


def test_unknown_agent_in_step() -> None:
    env = pad_actions(env_of({"a": BOX, "b": BOX}, {"a": spaces.Discrete(3), "b": spaces.Discrete(5)}))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"pad_actions: agent 'c' is not in the environment's possible_agents \['a', 'b'\]"):
        env.step({"a": 0, "c": 0})


@pytest.mark.parametrize("by", ["agents", "team", None, ""])
def test_invalid_by(by: Any) -> None:
    with pytest.raises(ValueError, match=rf"agent_indicator: by must be 'agent' \(one indicator per agent\) or 'type' \(one per agent type\), got {re.escape(repr(by))}"):
        agent_indicator(env_of({"a_0": BOX}), by=by)


def test_types_without_by_type() -> None:
    with pytest.raises(ValueError, match=r"`types` is only used with by='type'; pass by='type'"):
        agent_indicator(env_of({"a_0": BOX}), types={"a_0": "a"})


@pytest.mark.parametrize("types", [["a", "b"], 3, "ab"])
def test_types_of_the_wrong_kind(types: Any) -> None:
    with pytest.raises(TypeError, match=rf"`types` must be a mapping \{{agent: type\}} or a callable agent -> type, got {type(types).__name__}"):
        agent_indicator(env_of({"a_0": BOX}), by="type", types=types)


def test_types_mapping_missing_agents() -> None:
    env = env_of({"red_0": BOX, "red_1": BOX, "blue_0": BOX})
    with pytest.raises(ValueError, match=r"agent_indicator: `types` gives no type for agents \['red_1', 'blue_0'\]; map every agent"):
        agent_indicator(env, by="type", types={"red_0": "red"})


@pytest.mark.parametrize("shape", [(3,), (7, 7, 3)], ids=["vector", "image"])
@pytest.mark.parametrize("channels", ["bogus", "LAST", None, -1])
def test_invalid_channels(shape: tuple, channels: Any) -> None:
    env = env_of({"a_0": spaces.Box(0, 1, shape), "a_1": spaces.Box(0, 1, shape)})
    with pytest.raises(ValueError, match=rf"agent_indicator: channels must be 'auto', 'last' or 'first', got {re.escape(repr(channels))}"):
        agent_indicator(env, channels=channels)


def test_integer_agent_ids_by_type_need_types() -> None:
    env = env_of({0: BOX, 1: BOX})
    with pytest.raises(ValueError, match=r"cannot derive a type from agent id 0 \(int\); pass types=\{agent: type, \.\.\.\} or a callable, or use by='agent'"):
        agent_indicator(env, by="type")
    assert agent_indicator(env, by="type", types={0: "x", 1: "y"}).indicator_labels == ["x", "y"]
    assert agent_indicator(env, by="type", types=lambda a: a % 2).indicator_labels == [0, 1]


@pytest.mark.parametrize("name", ["0", "12", "_3", "-"])
def test_agent_names_that_are_only_an_index(name: str) -> None:
    with pytest.raises(ValueError, match=rf"agent name {re.escape(repr(name))} is only an index, so it has no type; pass types="):
        agent_type(name)


@pytest.mark.parametrize(
    "space, pattern",
    [
        (spaces.Text(4), r"cannot add an indicator to observation space Text\(.*\); supported are Box"),
        (spaces.MultiBinary([2, 2]), r"multi-dimensional MultiBinary MultiBinary\(\(2, 2\)\) is not supported; flatten it"),
        (spaces.MultiDiscrete([[2, 2]]), r"multi-dimensional MultiDiscrete MultiDiscrete\(\[\[2 2\]\]\) is not supported; flatten its nvec"),
        (spaces.Dict({"agent_indicator": BOX}), r"the Dict observation space Dict\(.*\) already has an 'agent_indicator' entry; apply agent_indicator only once"),
    ],
    ids=["Text", "MultiBinary2d", "MultiDiscrete2d", "indicated-twice"],
)
def test_unindicable_observation_spaces_name_the_agent(space: spaces.Space, pattern: str) -> None:
    env = env_of({"archer_0": space})
    with pytest.raises((NotImplementedError, ValueError), match=rf"agent_indicator: {pattern}.*\(observation space of agent 'archer_0'\)"):
        agent_indicator(env)


def test_unpad_observation_on_a_non_padded_env() -> None:
    raw = env_of({"a": BOX, "b": spaces.Box(0, 1, (5,))})
    pattern = r"unpad_observation needs the env returned by pad_observations itself, got .*Keep a reference to the pad_observations env"
    with pytest.raises(TypeError, match=pattern):
        unpad_observation(raw, "a", np.zeros(5, np.float32))
    padded = pad_observations(raw)
    for further in (pad_actions(padded), agent_indicator(padded)):
        with pytest.raises(TypeError, match=pattern):
            unpad_observation(further, "a", np.zeros(5, np.float32))
    with pytest.raises(ValueError, match=r"unpad_observation: agent 'z' is not in the environment's possible_agents \['a', 'b'\]"):
        unpad_observation(padded, "z", np.zeros(5, np.float32))
