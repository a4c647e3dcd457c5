"""Training speed, scratch cells vs fused (cuDNN/MKL) layers, at the book's char-LM size.

    python benchmarks/lm_speed.py [--device cuda] [--hidden 256] [--quick]

One-hot input (V = 28), batch 32, 35 steps; times forward + backward + SGD step over
`--batches` batches after a warm-up, and prints tokens/sec for each cell and impl:
book = the book's functional cells via seqlab.d2l (rnn: input products hoisted; gru and
lstm: the book's per-gate loop), scratch = seqlab.models.cells, fused = nn.RNN/GRU/LSTM.
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F

from seqlab.models.lm import ModelConfig, build_lm
from seqlab.runtime import resolve_device


def _book_model(cell, hidden, V, device):
    # the book's per-gate functional cells (seqlab.d2l), for reference
    from seqlab import d2l
    fns = {"rnn": (d2l.get_params, d2l.init_rnn_state, d2l.rnn), "gru": (d2l.get_gru_params, d2l.init_gru_state, d2l.gru),
           "lstm": (d2l.get_lstm_params, d2l.init_lstm_state, d2l.lstm)}[cell]
    return d2l.RNNModelScratch(V, hidden, device, *fns)


def tokens_per_sec(cell, impl, hidden, device, batches, V=28, B=32, T=35):
    torch.manual_seed(0)
    if impl == "book":
        net = _book_model(cell, hidden, V, device)
    else:
        net = build_lm(ModelConfig(cell=cell, impl=impl, hidden=hidden), V).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    X = torch.randint(0, V, (B, T), device=device)
    Y = torch.randint(0, V, (B, T), device=device)

    def step(state):
        logits, state = net(X, state)
        loss = F.cross_entropy(logits, Y.T.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return state

    state = net.begin_state(B, device)
    for _ in range(3):
        step(state)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(batches):
        step(net.begin_state(B, device))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batches * B * T / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    device = resolve_device(args.device)
    batches = 3 if args.quick else args.batches
    rows = []
    for cell in ("rnn", "gru", "lstm", "peephole"):
        for impl in ("book", "scratch", "fused"):
            if cell == "peephole" and impl != "scratch":
                continue
            rows.append({"cell": cell, "impl": impl, "hidden": args.hidden, "device": str(device),
                         "tokens_per_sec": round(tokens_per_sec(cell, impl, args.hidden, device, batches))})
            print(json.dumps(rows[-1]))


if __name__ == "__main__":
    main()
