"""The output layer + cross-entropy, forward and backward: fused (seqlab.models.fused_loss) vs plain.

    python benchmarks/fused_loss_speed.py [--threads 2] [--rounds 10]

Per vocabulary size V: `linear_cross_entropy(h, W, b, y).sum().backward()` against
`F.cross_entropy(linear(h), y, reduction="sum").backward()`, h (N, H) random, interleaved
(the order alternates each round), best of `--rounds` timings. This table sets
`fused_loss.MIN_VOCAB`, the smallest vocabulary the LMs use the fused step for. `fresh` is the
fused step given a new (N, V) buffer each time instead of the one it keeps across steps (what
keeping it saves: the page faults of a fresh large tensor). Then a whole translation training
step (train_epoch) with the decoder's fused loss on and off.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.fused_loss import _WORKSPACES, linear_cross_entropy

SHAPES = [  # (N rows = batch x steps, H, V)
    (1120, 512, 28), (1120, 512, 66), (1120, 200, 256), (1120, 200, 1000), (1120, 200, 4000),
    (700, 200, 10000), (700, 200, 33278), (700, 650, 33278),
]


def bench(N: int, H: int, V: int, rounds: int) -> dict:
    torch.manual_seed(0)
    linear, y = nn.Linear(H, V), torch.randint(0, V, (N,))
    h = torch.randn(N, H, requires_grad=True)

    def fused():
        linear_cross_entropy(h, linear.weight, linear.bias, y).sum().backward()

    def fresh():  # a new buffer for this call; the kept one is put back for fused()
        kept = _WORKSPACES.pop(linear.weight, None)
        fused()
        if kept is not None:
            _WORKSPACES[linear.weight] = kept

    def plain():
        F.cross_entropy(linear(h), y, reduction="sum").backward()

    runs = {"fused": fused, "fresh": fresh, "plain": plain}
    reps = max(3, int(2e6 / (N * V)))
    for run in runs.values():
        run()
    best = {k: float("inf") for k in runs}
    for r in range(rounds):
        for k in (list(runs) if r % 2 else list(runs)[::-1]):  # fresh between the other two
            t = time.perf_counter()
            for _ in range(reps):
                runs[k]()
            best[k] = min(best[k], (time.perf_counter() - t) / reps)
    return best


def translation_step(rounds: int, tgt_vocab: int = 8855) -> dict:
    """A whole teacher-forced training step of configs/fra_eng_attention_cpu.toml's model (attention
    GRU, embed 64, hidden 128; vocabularies 5,720 / 8,855 as on the full fra-eng at min_freq 5;
    batch 128 x 10), through seqlab's train_epoch, with the decoder's fused loss on and off."""
    from seqlab.data.translation import batches
    from seqlab.models.seq2seq import build_seq2seq, init_seq2seq
    from seqlab.training.translate import train_epoch

    torch.manual_seed(0)
    src_vocab, B, T, n = 5720, 128, 10, 128 * 4
    model = build_seq2seq(src_vocab, tgt_vocab, embed=64, hidden=128, layers=1, attention=True)
    model.apply(init_seq2seq)
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    g = torch.Generator().manual_seed(0)
    arrays = (torch.randint(4, src_vocab, (n, T), generator=g), torch.randint(3, T + 1, (n,), generator=g),
              torch.randint(4, tgt_vocab, (n, T), generator=g), torch.randint(3, T + 1, (n,), generator=g))

    def run(fused: bool) -> float:
        model.decoder.fused_loss = fused
        r = train_epoch(model, batches(arrays, B), opt, bos=2, clip=1.0, device=torch.device("cpu"))
        return r["tokens"] / r["seconds"]

    run(True), run(False)
    raw = {"fused": [], "plain": []}
    for r in range(rounds):
        for k in (["fused", "plain"] if r % 2 else ["plain", "fused"]):
            raw[k].append(run(k == "fused"))
    return raw


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; best of {args.rounds}")
    for N, H, V in SHAPES:
        b = bench(N, H, V, args.rounds)
        print(f"N {N:5d} H {H:3d} V {V:6d}: fused {b['fused'] * 1e6:9.0f} us, fresh {b['fresh'] * 1e6:9.0f} us, "
              f"plain {b['plain'] * 1e6:9.0f} us, plain / fused {b['plain'] / b['fused']:.2f}, "
              f"fresh / fused {b['fresh'] / b['fused']:.2f}")
    raw = translation_step(args.rounds)
    f, p = max(raw["fused"]), max(raw["plain"])
    print(f"translation step (attention GRU 128, target vocabulary 8,855, batch 128 x 10, 4 batches per timing): "
          f"fused {f:,.0f} target tokens/s {[round(x) for x in raw['fused']]}, plain {p:,.0f} "
          f"{[round(x) for x in raw['plain']]}, fused / plain {f / p:.2f}")


if __name__ == "__main__":
    main()
