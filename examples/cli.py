"""``ps-train``: train, save, reload and evaluate a parameter-sharing policy from the command line.

Usage:
    ps-train train --env bps --env-kwargs '{"group_sizes": [2, 2, 2]}' --method SNP-PS \\
        --steps 200000 --seed 0 --out runs/bps_snp
    ps-train train --env mpe2.simple_world_comm_v3 --method SePS --algo a2c --steps 100000
    ps-train train --env pettingzoo.sisl.multiwalker_v9 --method FuPS+id --normalize --steps 500000
    ps-train evaluate --model runs/bps_snp --episodes 20
    ps-train methods

``train`` writes ``model.zip`` and ``run.json`` (env, method, algorithm, seeds: all that
``evaluate`` needs to rebuild the env and reload the model), TensorBoard logs under ``tb/``
(``returns/agent/<name>``, ``returns/team``, ``returns/per_agent`` and SB3's own), and
``learning_curve.png`` (plus ``clusters.png`` for SePS / AdaPS and ``mask_overlap.png`` for
SNP-PS / AdaPS). With ``--normalize`` the vec env is wrapped in ``ps_wrappers.SlotVecNormalize``
and its statistics are saved as ``vecnormalize.pkl``, which ``evaluate`` applies.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import ps_wrappers
from examples.plots import agent_names as _agent_names
from examples.plots import plot_cluster_embedding, plot_learning_curves, plot_mask_overlap
from examples.registry import ALGORITHMS, METHODS, make_env_fn
from examples.training import TrainConfig, load_normalizer, load_run, save_run, train

__all__ = ["CliArgs", "main", "parse_json_object"]


@dataclass
class CliArgs:
    """Options of ``ps-train train`` besides the :class:`~examples.training.TrainConfig` fields."""

    out: Path = Path("runs/latest")
    """Output directory (model, run.json, TensorBoard logs, plots)."""
    eval_episodes: int = 10
    """Greedy evaluation episodes after training (0: none)."""
    progress: bool = True
    """Show SB3's progress bar (tqdm + rich)."""
    tensorboard: bool = True
    """Write TensorBoard logs to ``<out>/tb``."""
    threads: int = 1
    """torch threads."""


def parse_json_object(text: str) -> dict[str, Any]:
    """Parse a ``--*-kwargs`` value: a JSON object such as ``'{"group_sizes": [2, 2]}'``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not valid JSON ({error.msg}); pass an object such as '{{\"n_steps\": 128}}'"
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r} must be a JSON object ({{...}}), got {type(value).__name__}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ps-train", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a sharing method and save it")
    tr.add_argument("--env", default=TrainConfig.env, help="integration name or PettingZoo module path")
    tr.add_argument("--env-kwargs", type=parse_json_object, default={}, help="JSON object for parallel_env")
    tr.add_argument("--method", default=TrainConfig.method, help=f"one of {', '.join(s.name for s in METHODS.values())}")
    tr.add_argument("--method-kwargs", type=parse_json_object, default={}, help="JSON object of policy kwargs")
    tr.add_argument("--algo", default=TrainConfig.algorithm, choices=list(ALGORITHMS))
    tr.add_argument("--algo-kwargs", type=parse_json_object, default={}, help="JSON object of hyperparameters")
    tr.add_argument("--cluster-kwargs", type=parse_json_object, default={}, help="JSON object for cluster_agents")
    tr.add_argument("--steps", type=int, default=TrainConfig.steps)
    tr.add_argument("--seed", type=int, default=TrainConfig.seed)
    tr.add_argument("--n-envs", type=int, default=TrainConfig.n_envs)
    tr.add_argument("--out", type=Path, default=CliArgs.out)
    tr.add_argument("--eval-episodes", type=int, default=CliArgs.eval_episodes)
    tr.add_argument("--normalize", action="store_true",
                    help="standardise features and rewards (ps_wrappers.SlotVecNormalize)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard logs")
    tr.add_argument("--threads", type=int, default=CliArgs.threads)
    ev = sub.add_parser("evaluate", help="reload a saved run and evaluate it")
    ev.add_argument("--model", type=Path, required=True, help="output directory of 'ps-train train'")
    ev.add_argument("--episodes", type=int, default=10)
    ev.add_argument("--seed", type=int, default=10_000)
    ev.add_argument("--stochastic", action="store_true", help="sample actions instead of the greedy ones")
    sub.add_parser("methods", help="list the sharing methods")
    return parser


def _report(result: ps_wrappers.EvaluationResult, label: str) -> dict[str, Any]:
    per_agent = {str(a): float(sum(r) / len(r)) for a, r in result.agent_returns.items()}
    summary = {"team_return": result.mean_team_return, "agent_returns": per_agent}
    print(f"{label}: team return {result.mean_team_return:.3f} over {len(result.team_returns)} episodes")
    for agent, value in per_agent.items():
        print(f"  {agent:>16s} {value:9.3f}")
    return summary


def _train(ns: argparse.Namespace) -> dict[str, Any]:
    config = TrainConfig(env=ns.env, env_kwargs=ns.env_kwargs, method=ns.method, method_kwargs=ns.method_kwargs,
                         algorithm=ns.algo, algo_kwargs=ns.algo_kwargs, steps=ns.steps, seed=ns.seed,
                         n_envs=ns.n_envs, cluster_kwargs=ns.cluster_kwargs, normalize=ns.normalize)
    out: Path = ns.out
    run = train(config, tensorboard_log=None if ns.no_tensorboard else str(out / "tb"), progress_bar=not ns.no_progress)
    save_run(run, out)
    print(f"saved {out / 'model.zip'} and {out / 'run.json'} ({run.result.params:,} parameters, {run.result.seconds:.0f}s)")
    plot_learning_curves({config.method: [(run.result.steps, run.result.returns)]}, out / "learning_curve.png",
                         f"{config.env}: {config.method} ({config.algorithm})")
    if run.clusters is not None:
        plot_cluster_embedding(run.clusters, out / "clusters.png")
    network = getattr(run.model.policy, "policy_network", None) or getattr(run.model.policy, "q_network", None)
    if callable(getattr(network, "agent_masks", None)):
        plot_mask_overlap(network, _agent_names(run.model), out / "mask_overlap.png")
    if ns.eval_episodes < 1:
        return {}
    normalizer = run.model.get_vec_normalize_env()
    if normalizer is not None:
        normalizer.training = False  # evaluation must not move the statistics
    result = ps_wrappers.evaluate(run.model, make_env_fn(config.env, config.env_kwargs), ns.eval_episodes, seed=10_000,
                                  normalizer=normalizer)
    return _report(result, "greedy evaluation")


def _evaluate(ns: argparse.Namespace) -> dict[str, Any]:
    model, config = load_run(ns.model)
    env_fn = make_env_fn(config.env, config.env_kwargs)
    result = ps_wrappers.evaluate(model, env_fn, ns.episodes, seed=ns.seed, deterministic=not ns.stochastic,
                                  normalizer=load_normalizer(ns.model, config))
    return _report(result, f"{config.method} on {config.env} ({'stochastic' if ns.stochastic else 'greedy'})")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point of ``ps-train``; returns the evaluation summary (empty for ``methods``)."""
    ns = _parser().parse_args(argv)
    torch.set_num_threads(getattr(ns, "threads", 1))
    if ns.command == "train":
        return _train(ns)
    if ns.command == "evaluate":
        return _evaluate(ns)
    for spec in METHODS.values():
        print(f"{spec.name:10s} {spec.description}")
    return {}


def console() -> int:
    """The ``ps-train`` console script: run :func:`main`, exit status 0 on success."""
    main()
    return 0


if __name__ == "__main__":
    raise SystemExit(console())
