"""Beam search and generation speed: one batch on the device vs a per-sentence / per-prompt loop.

    PYTHONPATH=. SEQLAB_DATA=../shared/data python benchmarks/beam_search.py [--device cpu|cuda]
        [--epochs 30] [--rounds 5] [--threads 1] [--no-book-loop] [--generation]
    ... python benchmarks/beam_search.py --step [--step-shape 64,16,3593] [--beam 16] [--epochs 30]

Model: the book's 9.7 GRU seq2seq (embed 32, hidden 32, 2 layers) with the fra-eng book vocabularies
(600 examples: 184 / 201 tokens), trained for --epochs on them (0: random weights, whose searches
run to max_len), decoding the first --batch (128) training sources, beam 4, max_len 10 (num_steps).
Entries, run interleaved (the order rotates each round), best of --rounds:

- `batched`: `beam_search` on all sources at once (device-side; the host reads once at the end);
- `batched-old`: the pre-issue-7 batched search with host round-trips every step
  (tests/generation/reference_decode.py), to check the device-side one is not slower on a CPU;
- `per-sentence`: the same `beam_search` called with batch 1, once per sentence (and
  `per-sentence-old`: the old one so, where the device-side bookkeeping costs most, relatively);
- `greedy` / `greedy-old`: `greedy_decode` on all sources, new and pre-issue-7;
- `book-loop`: a literal per-hypothesis loop in the book's style (one decoder call per alive
  hypothesis per step, Python lists of candidates), same rules and results.

With --generation: a char LSTM LM (V 28, hidden 256) continuing --prompts prompts of different
lengths by 100 tokens, `generate_batch` vs `generate_ids` one prompt at a time (greedy, and
sampling at T = 1 with 8 samples per prompt). Prints a table and a JSON line.

With --step (alone): an A/B of beam search's candidate step, masking the done sources' (B, K*V)
scores after the add (`old`, the code before) vs their (B, K) sums before it (`new`,
`translate._extensions`), 100 steps each at --step-shape B,K,V (default: the fra-eng review model's
batch 64, beam 16, V 3,593) with 30% of the sources done, interleaved, best of --rounds, the
results asserted equal; then whole `beam_search` calls (--beam, on the model above) with either step.
"""

import argparse
import importlib.util
import json
import time
from pathlib import Path

import torch
from torch import nn

from seqlab.data.translation import load_data_nmt
from seqlab.generation.sampling import generate_batch, generate_ids
from seqlab.generation.translate import beam_search, greedy_decode
from seqlab.models.lm import RNNModel
from seqlab.models.seq2seq import build_seq2seq, init_seq2seq

_spec = importlib.util.spec_from_file_location(
    "reference_decode", Path(__file__).resolve().parents[1] / "tests" / "generation" / "reference_decode.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


@torch.no_grad()
def book_loop(model, src, src_len, bos, eos, K, max_len, alpha=0.75):
    """Per sentence, per alive hypothesis, one decoder call; candidates ranked in Python lists.

    The rules of `beam_search` (top-K ranks may finish, K finished or the bound stop a
    sentence); the best hypothesis' tokens per sentence.
    """
    out = []
    for i in range(src.shape[0]):
        state = model.decoder.init_state(model.encoder(src[i:i + 1], src_len[i:i + 1]), src_len[i:i + 1])
        alive = [([], 0.0, state)]  # (tokens, sum of log-probs, decoder state)
        finished = []  # (score, tokens)
        for t in range(1, max_len + 1):
            cands = []
            for toks, s, st in alive:
                y = torch.tensor([[toks[-1] if toks else bos]], device=src.device)
                logits, st2 = model.decoder(y, st)
                logp = torch.log_softmax(logits[0, -1].float(), dim=-1)
                top, idx = logp.topk(min(2 * K, logp.numel()))
                cands += [(s + float(lp), toks, int(v), st2) for lp, v in zip(top, idx)]
            cands.sort(key=lambda c: c[0], reverse=True)
            cands = cands[:2 * K]
            for s, toks, v, _ in cands[:K]:
                if v == eos or t == max_len:
                    finished.append((s / t ** alpha, toks if v == eos else toks + [v]))
            alive = [(toks + [v], s, st) for s, toks, v, st in cands if v != eos][:K]
            best = sorted((f[0] for f in finished), reverse=True)
            if t == max_len or len(finished) >= K or not alive or (best and best[0] >= alive[0][1] / max_len ** alpha):
                break
        out.append(max(finished, key=lambda f: f[0])[1])
    return out


def timed(fn, device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def race(entries: dict, rounds: int, device) -> tuple[dict, dict]:
    """Best-of-`rounds` seconds per entry (interleaved, order rotating), and each entry's result."""
    times = {name: [] for name in entries}
    results = {}
    names = list(entries)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            sec, results[name] = timed(entries[name], device)
            times[name].append(sec)
    return times, results


def _train_book_model(args, device):
    """The book's 9.7 GRU seq2seq on the fra-eng book data (600 examples), trained --epochs."""
    torch.manual_seed(0)
    num_steps = 10
    train_iter, src_vocab, tgt_vocab = load_data_nmt(64, num_steps)
    model = build_seq2seq(len(src_vocab), len(tgt_vocab), embed=32, hidden=32, layers=2, dropout=0.1)
    model.apply(init_seq2seq)
    model.to(device)
    if args.epochs:
        from seqlab.training.translate import train_epoch

        opt = torch.optim.Adam(model.parameters(), lr=0.005)
        for _ in range(args.epochs):
            train_epoch(model, train_iter, opt, bos=tgt_vocab["<bos>"], clip=1.0, device=device)
    return model.eval(), train_iter, src_vocab, tgt_vocab, num_steps


def old_extensions(sums, logp, done):
    """Beam search's step before: add, then mask the (B, K*V) scores of the done sources."""
    B, K, V = logp.shape
    return (sums.unsqueeze(2) + logp).view(B, K * V).masked_fill(done.unsqueeze(1), float("-inf"))


def step_ab(args, device) -> dict:
    import seqlab.generation.translate as translate

    B, K, V = (int(n) for n in args.step_shape.split(","))
    gen = torch.Generator().manual_seed(0)
    sums = (-torch.rand(B, K, generator=gen) * 10).to(device)
    logp = torch.log_softmax(torch.randn(B * K, V, generator=gen) * 3, -1).view(B, K, V).to(device)
    done = (torch.rand(B, generator=gen) < 0.3).to(device)
    new_step = translate._extensions
    assert torch.equal(old_extensions(sums, logp, done), new_step(sums, logp, done))

    def steps(fn):
        return lambda: [fn(sums, logp, done) for _ in range(100)][-1]

    times, _ = race({"old": steps(old_extensions), "new": steps(new_step)}, args.rounds, device)
    per_step = {name: [round(t * 10, 3) for t in ts] for name, ts in times.items()}  # ms per step
    print(f"torch {torch.__version__}, {device}, {torch.get_num_threads()} thread(s)")
    print(f"step B={B} K={K} V={V}, 30% of sources done, 100 steps, best of {args.rounds}:")
    for name, ms in per_step.items():
        print(f"  {name:<4}{min(ms):>9.3f} ms/step  raw {ms}")
    ratio = min(times["old"]) / min(times["new"])
    print(f"  old / new: {ratio:.2f}")

    model, train_iter, src_vocab, tgt_vocab, num_steps = _train_book_model(args, device)
    src, src_len = (t[:args.batch].to(device) for t in train_iter.dataset.tensors[:2])
    bos, eos = tgt_vocab["<bos>"], tgt_vocab["<eos>"]

    def search(step):
        def run():
            translate._extensions = step
            try:
                return beam_search(model, src, src_len, bos, eos, args.beam, num_steps, n_best=args.beam)
            finally:
                translate._extensions = new_step
        return run

    s_times, s_results = race({"old": search(old_extensions), "new": search(new_step)}, args.rounds, device)
    same = s_results["old"] == s_results["new"]
    print(f"beam_search: {src.shape[0]} sentences, beam {args.beam}, n_best {args.beam}, max_len {num_steps}, "
          f"vocab {len(src_vocab)}/{len(tgt_vocab)}, epochs {args.epochs}:")
    for name, ts in s_times.items():
        print(f"  {name:<4}{min(ts) * 1e3:>9.1f} ms  raw {[round(t * 1e3, 1) for t in ts]}")
    s_ratio = min(s_times["old"]) / min(s_times["new"])
    print(f"  old / new: {s_ratio:.2f}; identical hypotheses (every field): {same}")
    return {"device": str(device), "threads": torch.get_num_threads(), "step_shape": [B, K, V],
            "step_ms": per_step, "step_ratio": ratio, "search_s": s_times, "search_ratio": s_ratio,
            "beam": args.beam, "identical": same}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--epochs", type=int, default=30, help="training epochs on the book's data (0: random model)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--beam", type=int, default=4)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-book-loop", action="store_true", help="skip the slowest entry")
    p.add_argument("--generation", action="store_true", help="also time batched vs one-at-a-time generation")
    p.add_argument("--prompts", type=int, default=16)
    p.add_argument("--step", action="store_true", help="only the A/B of the beam step's mask, old vs new")
    p.add_argument("--step-shape", default="64,16,3593", help="B,K,V of the --step microbenchmark")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.step:
        print(json.dumps(step_ab(args, device)))
        return
    model, train_iter, src_vocab, tgt_vocab, num_steps = _train_book_model(args, device)
    src, src_len = (t[:args.batch].to(device) for t in train_iter.dataset.tensors[:2])
    bos, eos, K = tgt_vocab["<bos>"], tgt_vocab["<eos>"], args.beam

    def per_sentence(search):
        return [search(model, src[i:i + 1], src_len[i:i + 1], bos, eos, K, num_steps)[0] for i in range(src.shape[0])]

    entries = {"batched": lambda: beam_search(model, src, src_len, bos, eos, K, num_steps),
               "batched-old": lambda: reference.beam_search_ref(model, src, src_len, bos, eos, K, num_steps),
               "per-sentence": lambda: per_sentence(beam_search),
               "per-sentence-old": lambda: per_sentence(reference.beam_search_ref),
               "greedy": lambda: greedy_decode(model, src, src_len, bos, eos, num_steps),
               "greedy-old": lambda: reference.greedy_decode_ref(model, src, src_len, bos, eos, num_steps)}
    if not args.no_book_loop:
        entries["book-loop"] = lambda: book_loop(model, src, src_len, bos, eos, K, num_steps)
    times, results = race(entries, args.rounds, device)
    best = {name: min(ts) for name, ts in times.items()}
    tokens = {name: [h[0].tokens for h in res] if name != "book-loop" else res for name, res in results.items()
              if not name.startswith("greedy")}
    print(f"torch {torch.__version__}, {device}, {torch.get_num_threads()} thread(s); {src.shape[0]} sentences, "
          f"beam {K}, max_len {num_steps}, vocab {len(src_vocab)}/{len(tgt_vocab)}, epochs {args.epochs}")
    print(f"{'entry':<17}{'best ms':>9}{'x batched':>11}  raw ms")
    for name, ts in times.items():
        raw = [round(t * 1e3, 1) for t in ts]
        print(f"{name:<17}{best[name] * 1e3:>9.1f}{best[name] / best['batched']:>11.2f}  {raw}")
    agree = {name: sum(a == b for a, b in zip(tok, tokens["batched"])) for name, tok in tokens.items()}
    print("same best tokens as batched (of", src.shape[0], "):", agree)
    exact = results["batched"] == results["batched-old"] and results["greedy"] == results["greedy-old"]
    print("batched == batched-old and greedy == greedy-old (every field):", exact)
    record = {"device": str(device), "threads": torch.get_num_threads(), "sentences": int(src.shape[0]), "beam": K,
              "epochs": args.epochs, "best_s": best, "raw_s": times, "agree": agree, "identical_to_old": exact}

    if args.generation:
        V = 28
        torch.manual_seed(0)
        net = RNNModel(nn.LSTM(V, 256), V).to(device).eval()
        gen = torch.Generator().manual_seed(1)
        prompts = [torch.randint(0, V, (int(n),), generator=gen).tolist()
                   for n in torch.randint(3, 20, (args.prompts,), generator=gen)]
        n_tok, S = 100, 8
        g_entries = {
            "greedy batched": lambda: generate_batch(net, prompts, n_tok),
            "greedy one-at-a-time": lambda: [generate_ids(net, q, n_tok) for q in prompts],
            "sample batched": lambda: generate_batch(net, prompts, n_tok, num_samples=S, temperature=1.0, seed=0),
            "sample one-at-a-time": lambda: [generate_ids(net, q, n_tok, temperature=1.0, seed=s)
                                             for q in prompts for s in range(S)]}
        g_times, g_results = race(g_entries, args.rounds, device)
        print(f"generation: {args.prompts} prompts of 3-19 ids, {n_tok} tokens, char LSTM 256 (V {V}); "
              f"sampling: {S} samples per prompt")
        for name, ts in g_times.items():
            print(f"{name:<22}{min(ts) * 1e3:>9.1f} ms  {[round(t * 1e3, 1) for t in ts]}")
        same = g_results["greedy batched"] == g_results["greedy one-at-a-time"]
        print("greedy batched == one at a time:", same)
        record["generation"] = {"best_s": {k: min(v) for k, v in g_times.items()}, "raw_s": g_times,
                                "greedy_identical": same}
    print(json.dumps(record))


if __name__ == "__main__":
    main()
