"""benchmarks/preprocessing_throughput.py runs (tiny budget) and reports every chain."""

from __future__ import annotations

from benchmarks.preprocessing_throughput import ReplayEnv, chains, ratio_table, variants


def test_replay_env_replays_recorded_frames() -> None:
    from pettingzoo.butterfly import pistonball_v6

    env = ReplayEnv(pistonball_v6.parallel_env(), 3)
    obs, _ = env.reset()
    assert obs is env.frames[0] and len(env.frames) == 3
    env.step({})
    obs, *_ = env.step({})
    assert obs is env.frames[2]


def test_variants_and_table() -> None:
    runners = variants("replay", 2)
    assert set(runners) == {"raw env"} | {f"{c}: {w}" for c in chains() for w in ("ps_wrappers", "SuperSuit")}
    rates = {name: float(run()) for name, run in runners.items()}
    assert rates["full: ps_wrappers"] == 2 * 20  # steps x pistonball's 20 agents
    table = ratio_table(rates, wrapper_cost=True)
    assert all(f"| {c} |" in table for c in chains())


def test_kaz_replay_times_every_chain_on_non_contiguous_frames() -> None:
    runners = variants("kaz-replay", 1)
    assert set(runners) == {"raw env"} | {f"{c}: {w}" for c in chains() for w in ("ps_wrappers", "SuperSuit")}
    assert all(run() == 4 for run in runners.values())  # 1 step x KAZ's 2 archers and 2 knights
