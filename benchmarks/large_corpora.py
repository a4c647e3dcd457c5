"""The data path on corpora far larger than the bundled ones, for two seqlab trees side by side.

Builds, under --work, WikiText-2's training split repeated (as a train/valid/test folder), fra-eng
and Tiny Shakespeare repeated, and a file of many distinct word types; then times each operation below in a fresh
process per tree (wall seconds and peak RSS), so an old checkout (`git archive REV | tar -x -C DIR`)
and the working tree are measured in one run, on one machine, in turn:

    index     token_ids.index_raw_words on the many-types file
    stats     `seqlab stats --data <WikiText-2 x N>/train.txt --json`
    nmt       load_translation(data=<fra-eng x N>) and arrays("train")
    evaluate  `seqlab evaluate` of a one-epoch run on the WikiText-2 x N folder (trained once, with
              the last tree given)
    save      save_checkpoint of a vocabulary of 10,000 kept and --types left-out word types
    load      load_lm_corpus(data=<WikiText-2 x N folder>, level="word")
    loadchar  load_lm_corpus(data=<Tiny Shakespeare x 2N>, level="char")

    SEQLAB_DATA=/work/shared/data OMP_NUM_THREADS=1 python benchmarks/large_corpora.py \
        --trees /tmp/old /work/main --work /tmp/large --repeat 5 --types 3000000

Each line: operation, tree, seconds, peak RSS in MB, and an md5 of what the operation returned (equal
md5s: the same output from both trees; save's is the file size, smaller by design after 0639cb8).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path

# (run in the child process, with the tree on PYTHONPATH; prints "seconds peak_kb md5")
_CHILD = {
    "index": """
from seqlab.data import token_ids
text = open(ARG, encoding="utf-8").read()
t = time.perf_counter(); ids, words = token_ids.index_raw_words(text); dt = time.perf_counter() - t
digest(ids.tobytes(), "\\n".join(words).encode())
""",
    "stats": """
from seqlab.cli import main
import contextlib, io
out = io.StringIO()
t = time.perf_counter()
with contextlib.redirect_stdout(out):
    main(["stats", "--data", ARG, "--json"])
dt = time.perf_counter() - t
digest(out.getvalue().encode())
""",
    "nmt": """
from seqlab.data.translation_splits import load_translation
t = time.perf_counter()
data = load_translation(data=ARG, num_steps=10, min_freq=2)
src, src_len, tgt, tgt_len = data.arrays("train")
dt = time.perf_counter() - t
digest(src.numpy().tobytes(), tgt.numpy().tobytes(), str(len(data.src_vocab)).encode())
""",
    "evaluate": """
from seqlab.cli import main
import contextlib, io, json
out = io.StringIO()
t = time.perf_counter()
with contextlib.redirect_stdout(out):
    main(["evaluate", "--checkpoint", ARG, "--device", "cpu"])
dt = time.perf_counter() - t
result = json.loads(out.getvalue()); result.pop("checkpoint")
digest(json.dumps(result, sort_keys=True).encode())
""",
    "save": """
import torch
from seqlab.data.vocab import Vocab
from seqlab.training.checkpoint import save_checkpoint
n = int(ARG.split(":")[1])
counter = {f"w{i}": n + 20_000 - i for i in range(n + 10_000)}
vocab = Vocab(counter=counter, max_size=10_000)
path = ARG.split(":")[0]
t = time.perf_counter()
for _ in range(3):
    save_checkpoint(path, model={"w": torch.zeros(10_001, 16)}, meta={"task": "lm", "vocab": vocab.to_dict()})
dt = (time.perf_counter() - t) / 3
digest(str(os.path.getsize(path)).encode())
""",
    "load": """
from seqlab.data.corpora import load_lm_corpus
t = time.perf_counter()
corpus = load_lm_corpus(data=ARG, level=LEVEL)
dt = time.perf_counter() - t
peak_kb = hwm_kb()  # (before the digest: it is no part of loading)
vocab = [corpus.vocab.idx_to_token, corpus.vocab.token_freqs, corpus.written_unk]
digest(corpus.train.numpy(), corpus.valid.numpy(), b"" if corpus.test is None else corpus.test.numpy(),
       json.dumps(vocab, ensure_ascii=False).encode())
""",
}
_CHILD["loadchar"] = _CHILD["load"].replace("LEVEL", '"char"')
_CHILD["load"] = _CHILD["load"].replace("LEVEL", '"word"')
_PRELUDE = """
import hashlib, json, os, sys, time
ARG = sys.argv[1]
peak_kb = None
def hwm_kb():
    # this process's peak RSS: VmHWM, not ru_maxrss, which a child started by vfork + exec (subprocess)
    # inherits from its parent's peak (this script's, over 1.5 GB after writing a repeated corpus)
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
def digest(*parts):
    h = hashlib.md5()
    for p in parts:
        h.update(p)
    global md5
    md5 = h.hexdigest()[:12]
"""
_REPORT = """
print(f"{dt:.2f} {peak_kb or hwm_kb()} {md5}")
"""


def _repeat(source: Path, target: Path, times: int) -> Path:
    if not target.exists():
        text = source.read_text(encoding="utf-8")
        target.write_text(text * times, encoding="utf-8")
    return target


def _many_types(path: Path, types: int, tokens: int, seed: int = 0) -> Path:
    """`tokens` words, lines of 20, over `types` distinct random lower-case words (each used once
    first, the rest drawn again): as a corpus of many rare types."""
    if path.exists():
        return path
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choices(letters, k=rng.randint(3, 12))) for _ in range(types)}
    vocab = list(words)
    stream = vocab + rng.choices(vocab, k=max(tokens - len(vocab), 0))
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(0, len(stream), 20):
            fh.write(" ".join(stream[i:i + 20]) + "\n")
    return path


def _run(tree: Path, op: str, arg: str) -> str:
    code = _PRELUDE + _CHILD[op] + _REPORT
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, "-c", code, arg], env=env, cwd="/", capture_output=True, text=True)
    if done.returncode:
        return f"failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
    seconds, peak_kb, md5 = done.stdout.split()
    return f"{float(seconds):8.2f} s  {int(peak_kb) / 1024:8.0f} MB  md5 {md5}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", nargs="+", type=Path, required=True, help="seqlab source trees, measured in turn")
    parser.add_argument("--work", type=Path, default=Path("/tmp/seqlab-large"))
    parser.add_argument("--repeat", type=int, default=5, help="copies of WikiText-2 train and of fra-eng")
    parser.add_argument("--types", type=int, default=3_000_000, help="distinct words of the many-types file")
    parser.add_argument("--ops", nargs="+", default=list(_CHILD), choices=list(_CHILD))
    args = parser.parse_args()
    data = Path(os.environ.get("SEQLAB_DATA", "../shared/data"))
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    folder = work / f"wikitext2_x{args.repeat}"
    folder.mkdir(exist_ok=True)
    _repeat(data / "wikitext-2" / "train.txt", folder / "train.txt", args.repeat)
    for split in ("valid", "test"):
        _repeat(data / "wikitext-2" / f"{split}.txt", folder / f"{split}.txt", 1)
    inputs = {
        "index": lambda: _many_types(work / f"types_{args.types}.txt", args.types, int(args.types * 2.5)),
        "stats": lambda: folder / "train.txt",
        "nmt": lambda: _repeat(data / "fra-eng" / "fra.txt", work / f"fra_x{args.repeat}.txt", args.repeat),
        "evaluate": lambda: _trained_run(args.trees[-1], folder, work / f"run_x{args.repeat}"),
        "save": lambda: f"{work / 'vocab.safetensors'}:{args.types}",
        "load": lambda: folder,
        "loadchar": lambda: _repeat(data / "tinyshakespeare" / "input.txt",
                                    work / f"shakespeare_x{2 * args.repeat}.txt", 2 * args.repeat),
    }
    for op in args.ops:
        arg = str(inputs[op]())
        for tree in args.trees:
            print(f"{op:9s} {str(tree):24s} {_run(tree, op, arg)}", flush=True)


def _trained_run(tree: Path, folder: Path, out: Path) -> Path:
    if not (out / "best.safetensors").exists():
        subprocess.run([sys.executable, "-m", "seqlab", "train", "lm", "--data", str(folder), "--level", "word",
                        "--max-vocab", "10000", "--max-tokens", "1000", "--epochs", "1", "--hidden", "16", "--embed",
                        "16", "--batch-size", "8", "--num-steps", "20", "--eval-batch-size", "10", "--device", "cpu",
                        "--out", str(out), "--overwrite"], env=dict(os.environ, PYTHONPATH=str(tree)), cwd="/",
                       check=True, capture_output=True)
    return out


if __name__ == "__main__":
    main()
