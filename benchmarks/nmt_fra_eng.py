"""Attention seq2seq on the full fra-eng data: train, then test-split corpus BLEU (greedy and beam 4).

GPU (the figure the issue asks for; target >= 40 BLEU within 10 minutes of H100 training):

    PYTHONPATH=. SEQLAB_DATA=../shared/data python benchmarks/nmt_fra_eng.py --device cuda

CPU, reduced (what was measured without a GPU; see RESULTS_nmt.md):

    OMP_NUM_THREADS=1 PYTHONPATH=. SEQLAB_DATA=../shared/data python benchmarks/nmt_fra_eng.py \\
        --config configs/fra_eng_attention_cpu.toml --device cpu

--quick runs a few minutes' check of the whole path (one short epoch) on any device.
Prints one JSON line: training wall time, the last metrics record, and the evaluation.
"""

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path

from seqlab.cli import main

p = argparse.ArgumentParser()
p.add_argument("--config", default="configs/fra_eng_attention.toml")
p.add_argument("--device", default="auto")
p.add_argument("--out", default="runs/nmt_fra_eng")
p.add_argument("--quick", action="store_true", help="one epoch cut at 60 s, 200 valid sentences for BLEU")
p.add_argument("--seed", type=int, default=0)
args, extra = p.parse_known_args()  # anything else is passed on to `seqlab train translate`

train = ["train", "translate", "--config", args.config, "--device", args.device, "--seed", str(args.seed),
         "--out", args.out, *extra]
if args.quick:
    train += ["--epochs", "1", "--time-limit-s", "60", "--bleu-sentences", "200"]
start = time.perf_counter()
if main(train) != 0:
    sys.exit("training failed")
train_wall = time.perf_counter() - start
records = [json.loads(line) for line in (Path(args.out) / "metrics.jsonl").read_text().splitlines()]
buf = io.StringIO()
start = time.perf_counter()
with contextlib.redirect_stdout(buf):
    rc = main(["evaluate", "--checkpoint", args.out, "--device", args.device])
if rc != 0:
    sys.exit("evaluation failed")
result = {"config": args.config, "extra": extra, "quick": args.quick, "train_wall_s": round(train_wall, 1),
          "eval_wall_s": round(time.perf_counter() - start, 1), "last_epoch": records[-1],
          "evaluate": json.loads(buf.getvalue())}
print(json.dumps(result))
