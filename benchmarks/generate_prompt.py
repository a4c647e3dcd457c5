"""Generation from a long prompt, and from prompts of different lengths: the whole-prompt, lock-step loop
`generate_batch` ran before (review r-infer, findings 1 and 2; written out below as `old_generate_batch`, the
anchor) against `generate_batch` now (each distinct prompt warmed up once, on its own length, in calls of at
most WARM_UP_CHUNK ids, then the states joined).

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/generate_prompt.py [--words 4000] [--samples 4]
        [--vocab 33278] [--tokens 20] [--checkpoint RUN]

Model: a word LSTM LM, embedding and hidden 64, vocabulary --vocab (33,278: WikiText-2's), random weights
seeded 0 (or a trained --checkpoint run's model); prompts are random ids, seeded. Cases:

- `long`: one prompt of --words ids, --tokens greedy ids after it;
- `long xN`: the same prompt, --samples samples at temperature 1 (seed 0);
- `mixed`: the --words prompt and a one-id prompt in one batch, greedy.

Each (case, code) runs in a fresh process (so that its peak is its own), on one thread: user CPU seconds
and the peak RSS above the process's after a 2-token warm-up generation (ru_maxrss, MB). Both codes' ids
must be equal (asserted). Prints a table and a JSON line.
"""

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time

import torch


@torch.no_grad()
def old_generate_batch(net, prefixes, num_tokens, *, num_samples=1, temperature=None, seed=None, device="cpu"):
    """generate_batch at ad0b9b0 (its checks left out): every sample's row holds the whole prompt; all rows
    warm up together on the shortest prompt's m ids in ONE call, (m*N, V) logits, then step one id a call."""
    from seqlab.generation.sampling import _choose, row_uniforms
    from seqlab.runtime import eval_mode

    N, m, longest = len(prefixes) * num_samples, min(map(len, prefixes)), max(map(len, prefixes))
    total = longest + num_tokens
    ids = torch.zeros((len(prefixes), total), dtype=torch.long)
    for i, r in enumerate(prefixes):
        ids[i, :len(r)] = torch.tensor(r)
    ids = ids.repeat_interleave(num_samples, dim=0).to(device)
    in_prefix = torch.tensor([len(r) for r in prefixes]).repeat_interleave(num_samples).to(device)
    uniforms = row_uniforms(len(prefixes), num_samples, total, seed, device) if temperature is not None else None
    with eval_mode(net):
        logits, state = net(ids[:, :m], net.begin_state(batch_size=N, device=device))
        logits = logits.reshape(m, N, -1)[-1]
        for t in range(m, total):
            chosen = _choose(logits, temperature, None, None, None,
                             uniforms=uniforms[:, t] if uniforms is not None else None)
            ids[:, t] = torch.where(t < in_prefix, ids[:, t], chosen)
            if t + 1 < total:
                logits, state = net(ids[:, t:t + 1], state)
                logits = logits.reshape(N, -1)
    return [row[:n + num_tokens] for row, n in zip(ids.tolist(), in_prefix.tolist())]


def _model(args):
    if args.checkpoint:
        from seqlab.training.checkpoint import load_checkpoint
        from seqlab.training.lm import model_from_checkpoint

        return model_from_checkpoint(load_checkpoint(args.checkpoint), torch.device("cpu"))[0]
    from seqlab.models.lm import ModelConfig, build_lm

    torch.manual_seed(0)
    return build_lm(ModelConfig(cell="lstm", hidden=64, embed=64), args.vocab)


def _case(name, args, V):
    g = torch.Generator().manual_seed(1)
    long = torch.randint(0, V, (args.words,), generator=g).tolist()
    if name == "long":
        return [long], {}
    if name == "long xN":
        return [long], dict(num_samples=args.samples, temperature=1.0, seed=0)
    return [long, long[:1]], {}  # mixed


def child(args):
    from seqlab.generation.sampling import generate_batch

    torch.set_num_threads(1)
    net = _model(args)
    V = net.vocab_size
    prefixes, kwargs = _case(args.case, args, V)
    run = old_generate_batch if args.code == "old" else generate_batch
    run(net, [[1, 2]], 2)  # kernels and allocator warmed up: not this case's cost
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.process_time()
    ids = run(net, prefixes, args.tokens, **kwargs)
    cpu = time.process_time() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    digest = hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:16]
    print(json.dumps({"case": args.case, "code": args.code, "cpu_s": round(cpu, 3), "peak_mb": round(peak / 1024, 1),
                      "ids": digest}))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--words", type=int, default=4000)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--vocab", type=int, default=33278)
    p.add_argument("--tokens", type=int, default=20)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--case", default=None)  # (a child process: one case, one code)
    p.add_argument("--code", default=None)
    args = p.parse_args()
    if args.case:
        return child(args)
    passed = [a for a in sys.argv[1:]]
    rows = []
    for case in ("long", "long xN", "mixed"):
        for code in ("old", "new"):
            out = subprocess.run([sys.executable, __file__, *passed, "--case", case, "--code", code],
                                 capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"prompt {args.words} ids, vocabulary {args.vocab}, {args.tokens} new ids, --samples {args.samples}")
    print(f"{'case':<10}{'code':<6}{'cpu s':>9}{'peak MB':>10}  ids")
    for r in rows:
        print(f"{r['case']:<10}{r['code']:<6}{r['cpu_s']:>9.2f}{r['peak_mb']:>10.1f}  {r['ids']}")
    for old, new in zip(rows[::2], rows[1::2]):
        assert old["ids"] == new["ids"], f"{old['case']}: the ids differ"
    print(json.dumps({"words": args.words, "vocab": args.vocab, "samples": args.samples, "rows": rows}))


if __name__ == "__main__":
    main()
