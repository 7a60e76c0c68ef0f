"""Cost of Kaleidoscope's learned masks against a SharedMLP of the same size, on CPU, in one run.

Two tables, one torch thread, CPU time of this process (``benchmarks.timing.interleaved``:
variants interleaved round after round so machine noise hits all alike):

1. How to evaluate a batch whose rows use different per-agent weights (forward + backward of a
   ``D-64-64-A`` network with soft-thresholded weights): gather one weight matrix per row and
   ``bmm`` (the released code), run all agents' weights on all rows and pick, sort rows by agent
   and loop, or scatter rows into ``[N, max_rows, D]`` blocks and run one ``baddbmm`` (ours).
2. ``LearnedMaskMLP`` against ``SharedMLP`` (FuPS+id, same widths): acting forward without
   gradients, PPO-minibatch forward + backward, and a whole Adam step with and without the
   diversity term's step hook.

Usage::

    .venv/bin/python -m benchmarks.learned_mask_cost             # full run
    .venv/bin/python -m benchmarks.learned_mask_cost --rounds 1  # quick check
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torch.nn.functional as F

from benchmarks.timing import format_table, interleaved
from policies import SharedMLP
from policies.learned.layers import LearnedMaskMLP, RowGroups, soft_threshold
from policies.learned.regularizer import KaleidoscopeRegularizer

DIM, HIDDEN, ACTIONS = 30, [64, 64], 5


def _strategies(n_agents: int, batch: int) -> dict[str, Callable[[], int]]:
    torch.manual_seed(0)
    dims = [DIM, *HIDDEN, ACTIONS]
    weights = [torch.randn(o, i, requires_grad=True) for i, o in zip(dims[:-1], dims[1:])]
    thresholds = [torch.full((n_agents, o, i), -7.5, requires_grad=True) for i, o in zip(dims[:-1], dims[1:])]
    biases = [torch.zeros(o, requires_grad=True) for o in dims[1:]]
    x = torch.randn(batch, DIM)
    agent = torch.randint(n_agents, (batch,))
    one_hot = F.one_hot(agent, n_agents).float()

    def gather(h, w, b, groups):
        return torch.bmm(w[agent], h.unsqueeze(-1)).squeeze(-1) + b

    def run_all(h, w, b, groups):
        out = torch.einsum("bi,noi->nbo", h, w) + b
        return out.gather(0, agent.view(1, -1, 1).expand(1, -1, out.shape[-1])).squeeze(0)

    def loop(h, w, b, groups):
        order = torch.argsort(agent, stable=True)
        counts = torch.bincount(agent, minlength=n_agents).tolist()
        blocks = h.index_select(0, order).split(counts)
        outs = [F.linear(rows, w[i], b) for i, rows in enumerate(blocks) if counts[i]]
        return torch.cat(outs).index_select(0, torch.argsort(order))

    def blocks(h, w, b, groups):
        return groups.gather(torch.baddbmm(b.view(1, 1, -1), groups.scatter(h), w.transpose(1, 2)))

    def make(layer_fn):
        def run() -> int:
            groups = RowGroups.from_one_hot(one_hot)
            h = x
            for k, (w, s, b) in enumerate(zip(weights, thresholds, biases)):
                h = layer_fn(h, soft_threshold(w, s), b, groups)
                h = torch.tanh(h) if k < len(weights) - 1 else h
            h.sum().backward()
            return batch

        return run

    return {
        "gather per row + bmm (released code)": make(gather),
        "all agents on all rows, pick": make(run_all),
        "sort by agent, loop": make(loop),
        "scatter to blocks + baddbmm (ours)": make(blocks),
    }


def _network_cost(n_agents: int, batch: int, acting_rows: int) -> dict[str, Callable[[], int]]:
    torch.manual_seed(0)
    shared = SharedMLP(DIM, HIDDEN, ACTIONS, n_agents, agent_id=True)
    masked = LearnedMaskMLP(DIM, HIDDEN, ACTIONS, n_agents, agent_id=True)
    hooked = LearnedMaskMLP(DIM, HIDDEN, ACTIONS, n_agents, agent_id=True)
    optimizers = {name: torch.optim.Adam(net.parameters(), 3e-4) for name, net in
                  (("shared", shared), ("masked", masked), ("hooked", hooked))}
    KaleidoscopeRegularizer([hooked], optimizers["hooked"])
    x = torch.randn(batch, DIM)
    one_hot = F.one_hot(torch.randint(n_agents, (batch,)), n_agents).float()
    act_x = torch.randn(acting_rows, DIM)
    act_one_hot = torch.eye(n_agents).repeat(acting_rows // n_agents + 1, 1)[:acting_rows]

    def acting(net):
        def run() -> int:
            with torch.no_grad():
                for _ in range(20):
                    net(act_x, act_one_hot)
            return 20 * acting_rows

        return run

    def backward(net):
        def run() -> int:
            net.zero_grad()
            net(x, one_hot).pow(2).mean().backward()
            return batch

        return run

    def step(net, name):
        def run() -> int:
            optimizers[name].zero_grad()
            net(x, one_hot).pow(2).mean().backward()
            optimizers[name].step()
            return batch

        return run

    return {
        "act: SharedMLP": acting(shared),
        "act: LearnedMaskMLP": acting(masked),
        "fwd+bwd: SharedMLP": backward(shared),
        "fwd+bwd: LearnedMaskMLP": backward(masked),
        "Adam step: SharedMLP": step(shared, "shared"),
        "Adam step: LearnedMaskMLP": step(masked, "masked"),
        "Adam step: LearnedMaskMLP + diversity hook": step(hooked, "hooked"),
    }


def main() -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--agents", type=int, nargs="+", default=[3, 15])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 512, 2048])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"one torch thread, CPU time, {DIM}-{'-'.join(map(str, HIDDEN))}-{ACTIONS} networks, "
          f"median of {args.rounds} interleaved rounds\n")
    for n_agents in args.agents:
        for batch in args.batches:
            rates = interleaved(_strategies(n_agents, batch), rounds=args.rounds)
            print(format_table(f"per-agent weights, N={n_agents}, batch={batch} (forward+backward)",
                               rates, "scatter to blocks + baddbmm (ours)", "rows/s"), "\n")
    for n_agents in args.agents:
        for batch in (64, 256):
            variants = _network_cost(n_agents, batch, acting_rows=8 * n_agents)
            rates = interleaved(variants, rounds=args.rounds)
            for kind in ("act", "fwd+bwd", "Adam step"):
                subset = {k: v for k, v in rates.items() if k.startswith(kind)}
                title = f"{kind}, N={n_agents}, " + (
                    f"{8 * n_agents} rows (8 envs)" if kind == "act" else f"minibatch {batch}"
                )
                print(format_table(title, subset, f"{kind}: SharedMLP", "rows/s"), "\n")


if __name__ == "__main__":
    main()
