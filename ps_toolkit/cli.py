"""``ps-train``: train, save, reload and evaluate a parameter-sharing policy from the command line.

Usage:
    ps-train train --env bps --env-kwargs '{"group_sizes": [2, 2, 2]}' --method SNP-PS \\
        --steps 200000 --seed 0 --out runs/bps_snp
    ps-train train --env mpe2.simple_world_comm_v3 --method SePS --algo a2c --steps 100000
    ps-train train --env pettingzoo.classic.connect_four_v3 --method FuPS+id --steps 50000
    ps-train train --env bps --method SNP-PS --steps 200000 --backend rllib --num-env-runners 2
    ps-train evaluate --model runs/bps_snp --episodes 20
    ps-train evaluate --model runs/swc_seps --env mpe2.simple_world_comm_v3
    ps-train methods

``train`` checks every argument first, says how many steps will run (SB3 trains whole rollouts;
``n_steps`` is sized to ``--steps`` unless you give it), then writes to ``--out``: ``run.json``
(config, result, cluster map), ``policy/`` (the policy as data: ``policy.json`` + ``weights.npz``),
``normalizer.npz`` with ``--normalize``, ``model.zip`` (SB3's format, to resume training), TensorBoard
logs under ``tb/`` and ``learning_curve.png`` (plus ``clusters.png`` for SePS / AdaPS,
``mask_overlap.png`` for SNP-PS / AdaPS / Kaleidoscope and ``mask_history.png`` for Kaleidoscope).
``--backend rllib`` trains the same method on Ray RLlib's PPO (same budget and hyperparameter
names, :mod:`ps_toolkit.rllib_backend`) and writes the same files, with ``rllib_checkpoint/``
instead of ``model.zip`` and without ``tb/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import torch

import ps_wrappers
from ps_toolkit.plots import plot_run
from ps_toolkit.registry import ALGORITHMS, METHODS, make_env_fn
from ps_toolkit.runs import load_run, save_run
from ps_toolkit.training import TrainConfig, build_model, train
from ps_toolkit.validation import BACKENDS, MAX_SEED, check_output_dir

__all__ = ["DEFAULT_OUT", "SECURITY", "UsageError", "console", "main", "parse_json_object"]

SECURITY = (
    "Files from elsewhere: 'evaluate' reads only data (run.json, policy/, normalizer.npz) and imports an env "
    "module only when you name it with --env. model.zip is SB3's format, which unpickles: loading it runs code "
    "from the file, so load it (PPO.load, ps_toolkit.runs.load_model) only from sources you trust."
)


DEFAULT_OUT = Path("runs/latest")
"""Where ``ps-train train`` writes without ``--out``."""


class UsageError(ValueError):
    """A bad argument or input file: ``ps-train`` prints its one-line message and exits with 2."""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are :class:`UsageError` (one line, exit 2 in :func:`console`)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


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


def _report(result: ps_wrappers.EvaluationResult, label: str) -> dict[str, Any]:
    per_agent = {str(a): float(sum(r) / len(r)) for a, r in result.agent_returns.items()}
    summary = {"team_return": result.mean_team_return, "agent_returns": per_agent}
    print(f"{label}: team return {result.mean_team_return:.3f} over {len(result.team_returns)} episodes")
    for agent, value in per_agent.items():
        print(f"  {agent:>16s} {value:9.3f}")
    return summary


def _int_at_least(low: int, high: int | None = None) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ps-train", description="Train, save, reload and evaluate a parameter-sharing policy.", epilog=SECURITY)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    tr = sub.add_parser("train", help="train a sharing method and save it", epilog=SECURITY)
    tr.add_argument("--env", default=TrainConfig.env,
                    help="integration name or PettingZoo module path (with parallel_env, or env for AEC games)")
    tr.add_argument("--env-kwargs", type=parse_json_object, default={}, help="JSON object for the env function")
    tr.add_argument("--method", default=TrainConfig.method, help=f"one of {', '.join(s.name for s in METHODS.values())}")
    tr.add_argument("--method-kwargs", type=parse_json_object, default={}, help="JSON object of policy kwargs")
    tr.add_argument("--algo", default=TrainConfig.algorithm, choices=list(ALGORITHMS))
    tr.add_argument("--algo-kwargs", type=parse_json_object, default={}, help="JSON object of hyperparameters")
    tr.add_argument("--cluster-kwargs", type=parse_json_object, default={}, help="JSON object for cluster_agents")
    tr.add_argument("--steps", type=_int_at_least(1), default=TrainConfig.steps,
                    help="training steps, one per agent per env copy per env step (n_steps is sized to it)")
    tr.add_argument("--seed", type=_int_at_least(0, MAX_SEED), default=TrainConfig.seed)
    tr.add_argument("--n-envs", type=_int_at_least(1), default=TrainConfig.n_envs, help="env copies")
    tr.add_argument("--out", type=Path, default=None,
                    help=f"output directory (default {DEFAULT_OUT}, replaced by every run that does not give --out)")
    tr.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    tr.add_argument("--eval-episodes", type=_int_at_least(0), default=10, help="greedy episodes after training")
    tr.add_argument("--normalize", action="store_true",
                    help="standardise features and rewards (ps_wrappers.SlotVecNormalize)")
    tr.add_argument("--backend", default=TrainConfig.backend, choices=list(BACKENDS),
                    help="sb3 (in this process) or rllib (Ray RLlib's PPO; needs ps-toolkit[rllib])")
    tr.add_argument("--num-env-runners", type=_int_at_least(0), default=TrainConfig.num_env_runners,
                    help="RLlib env runners (--backend rllib); --n-envs copies are split among them")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard logs")
    tr.add_argument("--threads", type=_int_at_least(1), default=1, help="torch threads")
    ev = sub.add_parser("evaluate", help="reload a saved run (data files only) and evaluate it", epilog=SECURITY)
    ev.add_argument("--model", type=Path, required=True, help="output directory of 'ps-train train'")
    ev.add_argument("--env", default=None,
                    help="the env module, when the run was trained on one that is not a bundled integration")
    ev.add_argument("--episodes", type=_int_at_least(1), default=10)
    ev.add_argument("--seed", type=_int_at_least(0, MAX_SEED), default=10_000)
    ev.add_argument("--stochastic", action="store_true", help="sample actions instead of the greedy ones")
    ev.add_argument("--threads", type=_int_at_least(1), default=1, help="torch threads")
    sub.add_parser("methods", help="list the sharing methods")
    return parser


def _train(ns: argparse.Namespace) -> dict[str, Any]:
    config = TrainConfig(env=ns.env, env_kwargs=ns.env_kwargs, method=ns.method, method_kwargs=ns.method_kwargs,
                         algorithm=ns.algo, algo_kwargs=ns.algo_kwargs, steps=ns.steps, seed=ns.seed,
                         n_envs=ns.n_envs, cluster_kwargs=ns.cluster_kwargs, normalize=ns.normalize,
                         backend=ns.backend, num_env_runners=ns.num_env_runners)
    out: Path = DEFAULT_OUT if ns.out is None else ns.out
    with _user_errors():
        check_output_dir(out, overwrite=ns.overwrite or ns.out is None)
        built = build_model(config, None if ns.no_tensorboard else str(out / "tb"))  # checks the config first
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".ps-train-write-check"
        probe.write_text("")
        probe.unlink()
    budget = built[3]
    print(budget.describe(), flush=True)
    try:
        run = train(config, progress_bar=not ns.no_progress, built=built)
        save_run(run, out)
    finally:
        if config.backend == "rllib":
            built[0].stop()
    print(f"saved {out} ({run.result.params:,} parameters, {run.result.trained_steps:,} steps, "
          f"{run.result.seconds:.0f}s)")
    plot_run(run, out)
    if ns.eval_episodes < 1:
        return {}
    normalizer = None if config.backend == "rllib" else run.model.get_vec_normalize_env()
    if normalizer is not None:
        normalizer.training = False  # evaluation must not move the statistics
    agent = run.model.policy if config.backend == "rllib" else run.model
    result = ps_wrappers.evaluate(agent, make_env_fn(config.env, config.env_kwargs), ns.eval_episodes,
                                  seed=10_000, normalizer=normalizer)
    return _report(result, "greedy evaluation")


def _evaluate(ns: argparse.Namespace) -> dict[str, Any]:
    with _user_errors():
        if not ns.model.is_dir():
            raise FileNotFoundError(f"--model {ns.model} is not a directory; pass the output directory of 'ps-train train'")
        run = load_run(ns.model, env=ns.env)
        env = run.env_fn()
        ps_wrappers.SharedPolicy(run.policy, env, normalizer=run.normalizer)  # the env fits the policy
        env.close()
    result = ps_wrappers.evaluate(run.policy, run.env_fn, ns.episodes, seed=ns.seed, deterministic=not ns.stochastic,
                                  normalizer=run.normalizer)
    config = run.config
    return _report(result, f"{config.method} on {config.env} ({'stochastic' if ns.stochastic else 'greedy'})")


@contextmanager
def _user_errors() -> Iterator[None]:
    """Errors raised while checking arguments and files become one-line :class:`UsageError` s."""
    try:
        yield
    except UsageError:
        raise
    except (ValueError, TypeError, OSError, ImportError, KeyError) as error:  # ModuleNotFoundError: the extra
        text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        raise UsageError(" ".join(text.split()) or type(error).__name__) from error


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point of ``ps-train``; returns the evaluation summary (empty for ``methods``).

    Raises:
        UsageError: for a bad argument or input file, before any training step.
    """
    ns = _parser().parse_args(argv)
    torch.set_num_threads(getattr(ns, "threads", 1))
    if ns.command == "train":
        return _train(ns)
    if ns.command == "evaluate":
        return _evaluate(ns)
    width = max(len(spec.name) for spec in METHODS.values())
    for spec in METHODS.values():
        print(f"{spec.name:{width}s}  {spec.description}")
    return {}


def console(argv: list[str] | None = None) -> int:
    """The ``ps-train`` console script: run :func:`main`; 0 on success, 2 (one line on stderr) for a user error."""
    try:
        main(argv)
    except UsageError as error:
        print(f"ps-train: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(console())
