"""Generation from a long prompt, and from prompts of different lengths: the whole-prompt, lock-step loop
`generate_batch` ran before (review r-infer, findings 1 and 2; the anchor, `generate_batch_ref` of
tests/generation/reference_decode.py) against `generate_batch` now (each distinct prompt warmed up once, on its own length, in calls of at
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
from pathlib import Path

import torch


# the anchor: generate_batch at ad0b9b0, written out once, in the tests (the twin the new code must equal)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "generation"))
from reference_decode import generate_batch_ref as old_generate_batch  # noqa: E402


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
