"""A packed batch through ScratchRNN against nn.LSTM / nn.GRU packed, on a CPU.

ScratchRNN reads a PackedSequence with each sequence's padding after its steps (the reverse direction
over its own steps backwards), in one recurrence over the batch, the state read at each length (an
LSTM's cell state from every step's cell states, which its fast recurrence returns). Each row times one training step
(forward + backward of the packed output's sum) of a bidirectional one-layer layer over a batch of
sequences of random lengths (uniform in [5, T], a fixed seed): the fused layer packed, its scratch
twin (`ScratchRNN.from_fused`) packed, and the same twin over the padded batch (what the padded way
round cost: every row runs T steps, and its final state is the one after the padding). Interleaved
rounds, the best of the rounds' medians.

    PYTHONPATH=$PWD python benchmarks/scratch_packed.py --threads 2
"""

from __future__ import annotations

import argparse

import torch
from fused_layer_vs_fast import median_time  # (benchmarks/ is the script's folder, first on sys.path)
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from seqlab.models.recurrent import ScratchRNN

ROWS = [("lstm", 128, 64, 100), ("gru", 128, 64, 100), ("lstm", 256, 32, 35), ("gru", 256, 32, 35)]


def row(mode: str, hidden: int, batch: int, steps: int, reps: int, rounds: int) -> list[float]:
    torch.manual_seed(0)
    fused = {"gru": nn.GRU, "lstm": nn.LSTM}[mode](hidden, hidden, bidirectional=True)
    twin = ScratchRNN.from_fused(fused)
    X = torch.randn(steps, batch, hidden)
    lengths = torch.randint(5, steps + 1, (batch,))
    packed = pack_padded_sequence(X, lengths, enforce_sorted=False)

    def step(layer, inputs):
        def f():
            out = layer(inputs)[0]
            (out.data if isinstance(out, nn.utils.rnn.PackedSequence) else out).sum().backward()
        return f

    entries = [step(fused, packed), step(twin, packed), step(twin, X)]
    best = [float("inf")] * len(entries)
    for _ in range(rounds):  # interleaved: a slow stretch of the machine hits every entry
        for i, f in enumerate(entries):
            best[i] = min(best[i], median_time(f, reps))
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2, help="torch threads (0: torch's default)")
    p.add_argument("--reps", type=int, default=10, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; training step (forward + backward), "
          "bidirectional, lengths uniform in [5, T]")
    print(f"{'cell':5} {'H':>4} {'B':>4} {'T':>4}  {'fused packed':>13} {'scratch packed':>15} {'scratch padded':>15}"
          f"  {'fused/scratch':>13}")
    for mode, hidden, batch, steps in ROWS:
        fused, packed, padded = row(mode, hidden, batch, steps, args.reps, args.rounds)
        print(f"{mode:5} {hidden:>4} {batch:>4} {steps:>4}  {1e3 * fused:>10.2f} ms {1e3 * packed:>12.2f} ms "
              f"{1e3 * padded:>12.2f} ms  {fused / packed:>13.2f}")


if __name__ == "__main__":
    main()
