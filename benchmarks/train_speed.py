"""Training speed of the book's RNN/GRU/LSTM code (d2l 0.17.6) against seqlab, side by side.

    PYTHONPATH=. SEQLAB_DATA=../shared/data python benchmarks/train_speed.py [--device cpu|cuda] [--quick]
        [--rounds N] [--epochs E] [--wikitext] [--only rnn-scratch,lstm-concise,...]

One run, one process, the same data (the Time Machine characters, max_tokens 10000,
sequential batches of 32 x 35, vocabulary 28), shapes and device for every entry:

  anchor  d2l 0.17.6: the book's scratch cells (the notebook code of sections 8.5, 9.1,
          9.2, written out below as printed, since d2l.torch ships only the
          RNNModelScratch wrapper) and d2l.RNNModel over nn.RNN/GRU/LSTM, trained by
          d2l.train_epoch_ch8 (lr 1, clip 1) over d2l.seq_data_iter_sequential;
  ours    seqlab's `build_lm` models (scratch: seqlab.models.cells with the fast paths;
          fused: nn.RNN/GRU/LSTM), trained by seqlab.training.lm.train_epoch (lr 1, clip 1);
  nofast  seqlab's scratch model with --no-fast (plain autograd loop over one-hot input);
  compiled the plain scratch model's forward through torch.compile (on CUDA always; on a CPU
          with --compile: there it costs 10-80 s of compiling per model, see RESULTS.md);
  roof    a bare nn.RNN/GRU/LSTM + nn.Linear training step (one-hot batches prepared on
          the device beforehand, forward, cross-entropy, backward, SGD; no clipping, no
          state carry, no loss bookkeeping): what the fused kernel alone costs.

Entries are interleaved (anchor, ours, ... of one model, then the next model; the order
rotates each round) and each figure is the best of `--rounds` timings of `--epochs`
epochs, tokens/sec = tokens trained / wall seconds (data iteration included).

`--wikitext`: WikiText-2 shapes (2 x 650 LSTM, embedding 650, vocab 33,278, batch 20,
bptt 35, random token ids; `--wt-hidden 200` for pytorch/examples' default size), three pairs:
  ours vs bare      seqlab's full training step (train_epoch: state carry, clipping 0.25,
                    loss sums on device) against a bare Embedding + nn.LSTM + Linear step;
  medium vs examples  configs/wikitext2_lstm.toml's model (dropout 0.5, tied weights)
                    through train_epoch, against pytorch/examples word_language_model's
                    training loop (its `train()`: log_softmax + NLLLoss, `repackage_hidden`,
                    clip_grad_norm_, the manual `p.data.add_(p.grad, alpha=-lr)` update,
                    `loss.item()` every batch) over the same model written out as that
                    example's RNNModel (Embedding, dropout, nn.LSTM, dropout, tied Linear);
  fused vs unfused  our full step with the output layer and its loss as one autograd step
                    (seqlab.models.fused_loss, the CPU default) against the same step through
                    the logits and F.cross_entropy (`fused_loss = False`, as --no-fast).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anchor_d2l import load_d2l  # noqa: E402

from seqlab.data.corpora import load_corpus_time_machine  # noqa: E402
from seqlab.data.sampling import LMBatches  # noqa: E402
from seqlab.models.accel import Compiled, fuse_optimizer  # noqa: E402
from seqlab.models.lm import ModelConfig, build_lm  # noqa: E402
from seqlab.runtime import resolve_device  # noqa: E402
from seqlab.training.lm import train_epoch  # noqa: E402


# --- the book's notebook code (d2l 0.17.6, PyTorch tab), as printed ----------------------
# Section 8.5 (RNN from scratch), 9.1 (GRU from scratch), 9.2 (LSTM from scratch).

def book_get_params(vocab_size, num_hiddens, device):
    num_inputs = num_outputs = vocab_size

    def normal(shape):
        return torch.randn(size=shape, device=device) * 0.01

    W_xh = normal((num_inputs, num_hiddens))
    W_hh = normal((num_hiddens, num_hiddens))
    b_h = torch.zeros(num_hiddens, device=device)
    W_hq = normal((num_hiddens, num_outputs))
    b_q = torch.zeros(num_outputs, device=device)
    params = [W_xh, W_hh, b_h, W_hq, b_q]
    for param in params:
        param.requires_grad_(True)
    return params


def book_init_rnn_state(batch_size, num_hiddens, device):
    return (torch.zeros((batch_size, num_hiddens), device=device),)


def book_rnn(inputs, state, params):
    W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    outputs = []
    for X in inputs:
        H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
        Y = torch.mm(H, W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)


def book_get_gru_params(vocab_size, num_hiddens, device):
    num_inputs = num_outputs = vocab_size

    def normal(shape):
        return torch.randn(size=shape, device=device) * 0.01

    def three():
        return (normal((num_inputs, num_hiddens)), normal((num_hiddens, num_hiddens)),
                torch.zeros(num_hiddens, device=device))

    W_xz, W_hz, b_z = three()  # update gate
    W_xr, W_hr, b_r = three()  # reset gate
    W_xh, W_hh, b_h = three()  # candidate hidden state
    W_hq = normal((num_hiddens, num_outputs))
    b_q = torch.zeros(num_outputs, device=device)
    params = [W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q]
    for param in params:
        param.requires_grad_(True)
    return params


def book_init_gru_state(batch_size, num_hiddens, device):
    return (torch.zeros((batch_size, num_hiddens), device=device),)


def book_gru(inputs, state, params):
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    outputs = []
    for X in inputs:
        Z = torch.sigmoid((X @ W_xz) + (H @ W_hz) + b_z)
        R = torch.sigmoid((X @ W_xr) + (H @ W_hr) + b_r)
        H_tilda = torch.tanh((X @ W_xh) + ((R * H) @ W_hh) + b_h)
        H = Z * H + (1 - Z) * H_tilda
        Y = H @ W_hq + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)


def book_get_lstm_params(vocab_size, num_hiddens, device):
    num_inputs = num_outputs = vocab_size

    def normal(shape):
        return torch.randn(size=shape, device=device) * 0.01

    def three():
        return (normal((num_inputs, num_hiddens)), normal((num_hiddens, num_hiddens)),
                torch.zeros(num_hiddens, device=device))

    W_xi, W_hi, b_i = three()  # input gate
    W_xf, W_hf, b_f = three()  # forget gate
    W_xo, W_ho, b_o = three()  # output gate
    W_xc, W_hc, b_c = three()  # candidate memory cell
    W_hq = normal((num_hiddens, num_outputs))
    b_q = torch.zeros(num_outputs, device=device)
    params = [W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q]
    for param in params:
        param.requires_grad_(True)
    return params


def book_init_lstm_state(batch_size, num_hiddens, device):
    return (torch.zeros((batch_size, num_hiddens), device=device),
            torch.zeros((batch_size, num_hiddens), device=device))


def book_lstm(inputs, state, params):
    [W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q] = params
    (H, C) = state
    outputs = []
    for X in inputs:
        I = torch.sigmoid((X @ W_xi) + (H @ W_hi) + b_i)  # noqa: E741
        F_ = torch.sigmoid((X @ W_xf) + (H @ W_hf) + b_f)
        O = torch.sigmoid((X @ W_xo) + (H @ W_ho) + b_o)  # noqa: E741
        C_tilda = torch.tanh((X @ W_xc) + (H @ W_hc) + b_c)
        C = F_ * C + I * C_tilda
        H = O * torch.tanh(C)
        Y = (H @ W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H, C)


BOOK_SCRATCH = {"rnn": (book_get_params, book_init_rnn_state, book_rnn),
                "gru": (book_get_gru_params, book_init_gru_state, book_gru),
                "lstm": (book_get_lstm_params, book_init_lstm_state, book_lstm)}
FUSED = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}

# The issue's book-shape models: (name, cell, hidden, layers, anchor kind)
MODELS = [("rnn-scratch", "rnn", 512, 1, "scratch"), ("gru-scratch", "gru", 256, 1, "scratch"),
          ("lstm-scratch", "lstm", 256, 1, "scratch"), ("rnn-concise", "rnn", 256, 1, "concise"),
          ("gru-concise", "gru", 256, 1, "concise"), ("lstm-concise", "lstm", 256, 1, "concise"),
          ("deep-lstm", "lstm", 256, 2, "concise")]


# --- one timed "run" per entry: a closure that trains `epochs` epochs, returns tokens ---------

def anchor_runner(d2l, kind, cell, hidden, layers, corpus, V, device, B, T):
    if kind == "scratch":
        net = d2l.RNNModelScratch(V, hidden, device, *BOOK_SCRATCH[cell])
        updater = lambda batch_size: d2l.sgd(net.params, 1.0, batch_size)  # noqa: E731 (the book's)
    else:
        net = d2l.RNNModel(FUSED[cell](V, hidden, layers), V).to(device)
        updater = torch.optim.SGD(net.parameters(), lr=1.0)
    loss = nn.CrossEntropyLoss()

    # d2l's loop does not return its token count: count the batches of the same iterator
    def run_counted(epochs):
        n = 0
        for _ in range(epochs):
            batches = list(d2l.seq_data_iter_sequential(corpus, B, T))  # the book's iterator, materialised
            d2l.train_epoch_ch8(net, iter(batches), loss, updater, device, False)
            n += len(batches) * B * T
        return n
    return run_counted


def ours_runner(cell, impl, hidden, layers, corpus_t, V, device, B, T, fast=True, compiled=False):
    net = build_lm(ModelConfig(cell=cell, impl=impl, hidden=hidden, layers=layers, fast=fast), V).to(device)
    if compiled:  # the model's forward through torch.compile (falls back with one warning)
        net.forward = Compiled(net.forward, device, cpu=True)
    opt = fuse_optimizer(torch.optim.SGD(net.parameters(), lr=1.0), device, fast)  # fused=True on CUDA
    batches = LMBatches(corpus_t, B, T, "sequential", rng=random.Random(0), device=device)

    def run(epochs):
        n = 0
        for _ in range(epochs):
            _, k, _ = train_epoch(net, batches, opt, device, clip=1.0, carry_state=True, fast=fast)
            n += k
        return n
    return run


def roof_runner(cell, hidden, layers, corpus_t, V, device, B, T):
    layer = FUSED[cell](V, hidden, layers).to(device)
    head = nn.Linear(hidden, V).to(device)
    opt = torch.optim.SGD([*layer.parameters(), *head.parameters()], lr=1.0)
    data = [(F.one_hot(X.T, V).float(), Y.T.reshape(-1))
            for X, Y in LMBatches(corpus_t, B, T, "sequential", rng=random.Random(0), device=device)]

    def run(epochs):
        for _ in range(epochs):
            for X, y in data:
                out, _ = layer(X)  # (T, B, H), zero initial state
                loss = F.cross_entropy(head(out.reshape(-1, hidden)), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return epochs * len(data) * B * T
    return run


def timed(run, epochs, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    n = run(epochs)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return n / (time.perf_counter() - t0)


def entries_for(d2l, name, cell, hidden, layers, kind, corpus, corpus_t, V, device, B, T, compiled=False):
    """The timed entries of one model: label -> runner (seeded alike)."""
    out = {}
    torch.manual_seed(0)
    out["anchor"] = anchor_runner(d2l, kind, cell, hidden, layers, corpus, V, device, B, T)
    torch.manual_seed(0)
    if kind == "scratch":
        out["ours"] = ours_runner(cell, "scratch", hidden, layers, corpus_t, V, device, B, T)
        torch.manual_seed(0)
        out["nofast"] = ours_runner(cell, "scratch", hidden, layers, corpus_t, V, device, B, T, fast=False)
        torch.manual_seed(0)
        out["fused"] = ours_runner(cell, "fused", hidden, layers, corpus_t, V, device, B, T)
        if compiled:  # the plain scratch loop, compiled (it compiles into one graph; the fast path does not)
            torch.manual_seed(0)
            out["compiled"] = ours_runner(cell, "scratch", hidden, layers, corpus_t, V, device, B, T, fast=False,
                                          compiled=True)
    else:
        out["ours"] = ours_runner(cell, "fused", hidden, layers, corpus_t, V, device, B, T)
        torch.manual_seed(0)
        out["scratch"] = ours_runner(cell, "scratch", hidden, layers, corpus_t, V, device, B, T)
    torch.manual_seed(0)
    out["roof"] = roof_runner(cell, hidden, layers, corpus_t, V, device, B, T)
    return out


def book_shapes(args, device, log):
    d2l = load_d2l()
    B, T = 32, 35
    corpus, vocab = load_corpus_time_machine(max_tokens=10000)
    V = len(vocab)
    corpus_t = torch.tensor(corpus)
    chosen = [m for m in MODELS if not args.only or m[0] in args.only.split(",")]
    compiled = device.type == "cuda" or args.compile
    entries = {m[0]: entries_for(d2l, *m, corpus, corpus_t, V, device, B, T, compiled) for m in chosen}
    for name, ents in entries.items():  # warm-up (allocator, MKL/cuBLAS handles, lazy init)
        for run in ents.values():
            run(1)
    best: dict[str, dict[str, float]] = {name: {} for name in entries}
    raw: dict[str, dict[str, list[float]]] = {name: {k: [] for k in e} for name, e in entries.items()}
    for r in range(args.rounds):
        for name, ents in entries.items():
            labels = list(ents)
            labels = labels[r % len(labels):] + labels[:r % len(labels)]  # rotate the order each round
            for label in labels:
                tps = timed(ents[label], args.epochs, device)
                raw[name][label].append(round(tps))
        log(f"round {r + 1}/{args.rounds} done")
    for name in entries:
        for label, xs in raw[name].items():
            best[name][label] = max(xs)
    return best, raw


def paired(raw: dict[str, list[float]], a: str, b: str) -> float:
    """Median over rounds of a's rate / b's rate in the same round.

    The entries of a round run back to back, so a stretch where the whole (shared) machine is
    slow cancels out of each round's ratio; the best-of-rounds ratio does not have that
    protection (a stall in the anchor's best round alone moves it).
    """
    return statistics.median(x / y for x, y in zip(raw[a], raw[b]))


def report(best, raw, log):
    log(f"{'model':14s} {'entry':8s} {'tokens/s':>10s}  {'x anchor':>8s}  {'x roof':>7s}  {'paired':>6s}   raw")
    for name, row in best.items():
        for label, tps in row.items():
            log(f"{name:14s} {label:8s} {tps:10,.0f}  {tps / row['anchor']:8.2f}  {tps / row['roof']:7.2f}  "
                f"{paired(raw[name], label, 'anchor'):6.2f}   {raw[name][label]}")
    log("(x anchor, x roof: best of the rounds over best; paired: median over rounds of the ratio to the anchor "
        "in the same round)")
    log("")
    log("targets (CPU): scratch >= 1.5x d2l scratch; fused >= 1.0x d2l concise; best path >= 0.9x roof")
    log("  (best of rounds / paired median)")
    for name, row in best.items():
        r = raw[name]
        kind, want = ("ours/anchor", 1.5) if name.endswith("scratch") else ("fused/anchor", 1.0)
        log(f"  {name}: {kind} {row['ours'] / row['anchor']:.2f} / {paired(r, 'ours', 'anchor'):.2f} (>= {want})")
        top = max((k for k in row if k not in ("anchor", "roof")), key=row.get)
        log(f"  {name}: best ours ({top})/roof {row[top] / row['roof']:.2f} / {paired(r, top, 'roof'):.2f} (>= 0.9)")


def wikitext_shapes(args, device, log):
    """Our full LM training step vs a bare Embedding + nn.LSTM + Linear step, WikiText-2 shapes."""
    V, L, B, T = 33278, 2, 20, 35
    E = H = args.wt_hidden
    steps = args.wt_steps
    g = torch.Generator().manual_seed(0)
    stream = torch.randint(0, V, (B * T * steps + 1,), generator=g)
    torch.manual_seed(0)
    net = build_lm(ModelConfig(cell="lstm", impl="fused", hidden=H, layers=L, embed=E), V).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=20.0)
    batches = LMBatches(stream, B, T, "sequential", rng=random.Random(0), device=device)

    def ours(epochs):
        n = 0
        for _ in range(epochs):
            n += train_epoch(net, batches, opt, device, clip=0.25, carry_state=True)[1]
        return n

    def unfused(epochs):  # the same step with the logits and F.cross_entropy (--no-fast's loss)
        net.fused_loss = False
        try:
            return ours(epochs)
        finally:
            net.fused_loss = True

    torch.manual_seed(0)
    emb, lstm, head = nn.Embedding(V, E).to(device), nn.LSTM(E, H, L).to(device), nn.Linear(H, V).to(device)
    bare_opt = torch.optim.SGD([*emb.parameters(), *lstm.parameters(), *head.parameters()], lr=20.0)
    data = [(X.T.contiguous(), Y.T.reshape(-1)) for X, Y in batches]

    def bare(epochs):
        for _ in range(epochs):
            for X, y in data:
                out, _ = lstm(emb(X))  # (T, B, H)
                loss = F.cross_entropy(head(out.reshape(-1, H)), y)
                bare_opt.zero_grad(set_to_none=True)
                loss.backward()
                bare_opt.step()
        return epochs * len(data) * B * T

    torch.manual_seed(0)
    medium_net = build_lm(ModelConfig(cell="lstm", impl="fused", hidden=H, layers=L, embed=E, dropout=0.5,
                                      tie_weights=True), V).to(device)
    medium_opt = torch.optim.SGD(medium_net.parameters(), lr=20.0)

    def medium(epochs):
        return sum(train_epoch(medium_net, batches, medium_opt, device, clip=0.25, carry_state=True)[1]
                   for _ in range(epochs))

    torch.manual_seed(0)
    examples = ExamplesLSTM(V, E, H, L, dropout=0.5).to(device)
    source = stream[:stream.numel() // B * B].view(B, -1).t().contiguous().to(device)  # their batchify

    def examples_loop(epochs):
        return sum(examples_train(examples, source, T, lr=20.0, clip=0.25) for _ in range(epochs))

    runs = {"ours": ours, "unfused": unfused, "bare": bare, "medium": medium, "examples": examples_loop}
    for run in runs.values():  # warm-up
        run(1)
    raw = {k: [] for k in runs}
    for r in range(args.rounds):
        labels = list(runs)
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:  # rotate the order each round
            raw[label].append(round(timed(runs[label], 1, device)))
    b = {k: max(v) for k, v in raw.items()}
    log(f"wikitext-2 shapes (2x{H} LSTM, V {V}, batch {B}, bptt {T}, {len(data)} steps per timing):")
    log(f"  ours full step {b['ours']:,} tokens/s {raw['ours']}; bare nn.LSTM step {b['bare']:,} tokens/s "
        f"{raw['bare']}; ratio {b['ours'] / b['bare']:.2f} (GPU target >= 0.95)")
    log(f"  medium config (dropout 0.5, tied) {b['medium']:,} tokens/s {raw['medium']}; pytorch/examples loop "
        f"{b['examples']:,} tokens/s {raw['examples']}; ratio {b['medium'] / b['examples']:.2f} (GPU target >= 1.5)")
    log(f"  ours with the output layer's loss unfused {b['unfused']:,} tokens/s {raw['unfused']}; fused / unfused "
        f"{b['ours'] / b['unfused']:.2f}")
    return b, raw


class ExamplesLSTM(nn.Module):
    """pytorch/examples word_language_model's RNNModel for an LSTM, tied weights, as it runs."""

    def __init__(self, ntoken, ninp, nhid, nlayers, dropout):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.decoder.weight = self.encoder.weight
        self.nlayers, self.nhid = nlayers, nhid

    def forward(self, x, hidden):
        output, hidden = self.rnn(self.drop(self.encoder(x)), hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.decoder.out_features)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        w = next(self.parameters())
        return (w.new_zeros(self.nlayers, bsz, self.nhid), w.new_zeros(self.nlayers, bsz, self.nhid))


def examples_train(model, source, bptt, lr, clip):
    """One epoch of pytorch/examples word_language_model's `train()` (logging aside); tokens trained."""
    model.train()
    criterion = nn.NLLLoss()
    total_loss, hidden, n = 0.0, model.init_hidden(source.size(1)), 0
    for i in range(0, source.size(0) - 1, bptt):
        seq_len = min(bptt, len(source) - 1 - i)
        data, targets = source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)
        model.zero_grad()
        hidden = tuple(h.detach() for h in hidden)  # their repackage_hidden
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total_loss += loss.item()
        n += targets.numel()
    return n


PRODUCTS = ("auto", "onednn", "mkl-packed", "addmm")


def force_products(name: str) -> None:
    """The scratch cells' CPU step products (seqlab.models.step_products): "auto" leaves seqlab's
    choice for this CPU; "onednn", "mkl-packed" or "addmm" (PyTorch's own) forces that kernel."""
    from seqlab.models import step_products

    if name != "auto":
        step_products.ONEDNN = name == "onednn"
        step_products.MKL_PACKED = name == "mkl-packed"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=4, help="epochs per timing (8 batches each)")
    ap.add_argument("--only", default="", help="comma-separated model names: " + ",".join(m[0] for m in MODELS))
    ap.add_argument("--wikitext", action="store_true", help="also the WikiText-2-shape step")
    ap.add_argument("--wt-steps", type=int, default=4, help="training steps per WikiText-2 timing")
    ap.add_argument("--wt-hidden", type=int, default=650,
                    help="embedding and hidden size of the WikiText-2 shapes (650: the medium model; "
                         "200: pytorch/examples' default)")
    ap.add_argument("--skip-book", action="store_true", help="only the WikiText-2 shapes")
    ap.add_argument("--compile", action="store_true", help="the 'compiled' entries on a CPU too (always on CUDA)")
    ap.add_argument("--quick", action="store_true", help="1 round of 1 epoch: a smoke run")
    ap.add_argument("--json", default="", help="write the raw numbers here")
    ap.add_argument("--products", choices=PRODUCTS, default="auto",
                    help="the scratch cells' CPU step products: auto (seqlab's choice for this CPU) or one forced")
    args = ap.parse_args()
    unknown = sorted(set(args.only.split(",")) - {m[0] for m in MODELS} - {""})
    if unknown:  # a misspelt name would otherwise drop its row silently (a lost row on a lent GPU)
        ap.error(f"--only: unknown model(s) {', '.join(unknown)}; choose from {', '.join(m[0] for m in MODELS)}")
    if args.quick:
        args.rounds, args.epochs, args.wt_steps = 1, 1, 1
    force_products(args.products)
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    log = print
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}, "
        f"{platform.processor() or platform.machine()}; rounds {args.rounds}, epochs/timing {args.epochs}; "
        f"step products {args.products}")
    result = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "rounds": args.rounds, "epochs": args.epochs}
    if not args.skip_book:
        best, raw = book_shapes(args, device, log)
        report(best, raw, log)
        result.update(best=best, raw=raw)
    if args.wikitext:
        result["wikitext"] = wikitext_shapes(args, device, log)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
