"""Kill a real `seqlab train ...` subprocess with SIGKILL at a random moment, resume it with
--resume, and compare the final checkpoint bit for bit with an uninterrupted run.

Used by tests/reliability/test_kill_resume.py and, for more trials, by
`python tests/reliability/kill_resume.py --trials N` (prints one JSON line per trial).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from seqlab.training.checkpoint import load_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TEXT = "the time traveller for so it will be convenient to speak of him\n" * 20
PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("I lost.", "J'ai perdu."),
         ("I'm home.", "Je suis chez moi."), ("He's calm.", "Il est calme."), ("Go now.", "Va maintenant !"),
         ("I'm calm.", "Je suis calme."), ("He's home.", "Il est chez lui."), ("I lost it.", "Je l'ai perdu.")]
TASKS = ("lm", "translate", "forecast", "classify")


def make_fixtures(root: Path) -> dict[str, Path]:
    """Tiny inputs for every task under `root`."""
    from seqlab.data.mnist import write_idx

    root.mkdir(parents=True, exist_ok=True)
    text = root / "tiny.txt"
    text.write_text(TEXT, encoding="utf-8")
    pairs = root / "pairs.txt"
    pairs.write_text("\n".join(f"{a}\t{b}" for a, b in PAIRS * 6) + "\n", encoding="utf-8")
    digits = root / "digits"
    digits.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    for name, n in (("train", 120), ("t10k", 40)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
        for i, y in enumerate(labels):
            images[i, :, 2 * y + 4: 2 * y + 6] = 250
        write_idx(digits / f"{name}-images-idx3-ubyte.gz", images)
        write_idx(digits / f"{name}-labels-idx1-ubyte.gz", labels)
    return {"text": text, "pairs": pairs, "digits": digits}


def argv(task: str, fx: dict[str, Path], out: Path) -> list[str]:
    """A few-second run of `task` that uses every RNG it can (dropout, shuffling, random sampling)."""
    common = ["--device", "cpu", "--seed", "3", "--out", str(out)]
    if task == "lm":
        return ["train", "lm", "--data", str(fx["text"]), "--level", "char", "--cell", "lstm", "--impl", "scratch",
                "--hidden", "16", "--layers", "2", "--dropout", "0.3", "--batch-size", "4", "--num-steps", "8",
                "--epochs", "12", "--lr", "0.01", "--optimizer", "adam", "--sampling", "random", *common]
    if task == "translate":
        return ["train", "translate", "--data", str(fx["pairs"]), "--num-steps", "6", "--attention", "--embed", "8",
                "--hidden", "16", "--layers", "2", "--dropout", "0.2", "--batch-size", "8", "--epochs", "10",
                "--lr", "0.01", "--valid-frac", "0.2", "--test-frac", "0.2", "--min-freq", "1", "--bleu-every", "0",
                *common]
    if task == "forecast":
        return ["train", "forecast", "--model", "gru", "--hidden", "8", "--epochs", "10", "--batch-size", "16",
                "--out", str(out), "--seed", "3"]
    if task == "classify":
        return ["train", "classify", "--dataset", "mnist", "--mode", "rows", "--data-dir", str(fx["digits"]),
                "--hidden", "12", "--layers", "1", "--optimizer", "adam", "--lr", "0.02", "--batch-size", "16",
                "--epochs", "10", "--valid-size", "30", "--no-progress", *common]
    raise ValueError(task)


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    return env


def run(args: list[str], *, timeout: float = 300) -> tuple[int, float, str]:
    """Run to the end; returns (exit code, seconds of training, stderr). The training part runs
    from the moment metrics.jsonl appears (just before the first step) to the last checkpoint."""
    out = Path(args[args.index("--out") + 1])
    p = subprocess.Popen([sys.executable, "-m", "seqlab", *args], env=_env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, cwd=ROOT)
    t0 = time.time()
    start = None
    while p.poll() is None and time.time() - t0 < timeout:
        if start is None and (out / "metrics.jsonl").exists():
            start = time.time()
        time.sleep(0.01)
    if p.poll() is None:
        p.kill()
    err = p.communicate()[1]
    last = out / "last.safetensors"
    end = last.stat().st_mtime if last.exists() else time.time()  # the last checkpoint ends the training
    return p.returncode, max(end - (start or t0), 0.1), err


def run_killed(args: list[str], after_s: float) -> bool:
    """Start the run and SIGKILL it `after_s` seconds after training began; True if it was still running."""
    out = Path(args[args.index("--out") + 1])
    (out / "metrics.jsonl").unlink(missing_ok=True)
    p = subprocess.Popen([sys.executable, "-m", "seqlab", *args], env=_env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=ROOT)
    while p.poll() is None and not (out / "metrics.jsonl").exists():
        time.sleep(0.01)
    try:
        p.wait(timeout=after_s)
        return False
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        return True


def run_signalled(args: list[str], after_s: float, sig: int = signal.SIGTERM) -> tuple[int | None, str]:
    """Send `sig` `after_s` seconds after training began; (exit code, stderr), None if it had ended."""
    out = Path(args[args.index("--out") + 1])
    p = subprocess.Popen([sys.executable, "-m", "seqlab", *args], env=_env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, cwd=ROOT)
    while p.poll() is None and not (out / "metrics.jsonl").exists():
        time.sleep(0.01)
    time.sleep(after_s)
    if p.poll() is not None:
        return None, p.communicate()[1]
    p.send_signal(sig)
    err = p.communicate(timeout=120)[1]
    return p.returncode, err


def final_tensors(out: Path) -> dict[str, torch.Tensor]:
    ckpt = load_checkpoint(out, "last")
    tensors = {f"model/{k}": v for k, v in ckpt.model.items()}
    for pid, state in (ckpt.optimizer or {}).get("state", {}).items():
        for key, value in state.items():
            tensors[f"optim/{pid}/{key}"] = value if isinstance(value, torch.Tensor) else torch.tensor(value)
    best = load_checkpoint(out, "best")  # the best checkpoint must match too
    tensors.update({f"best/{k}": v for k, v in best.model.items()})
    tensors["best/epoch"] = torch.tensor(best.meta["epoch"])
    return tensors


def bitwise_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)


def reference(task: str, fx: dict[str, Path], root: Path) -> tuple[dict[str, torch.Tensor], float]:
    out = root / f"{task}-ref"
    rc, secs, err = run(argv(task, fx, out))
    assert rc == 0, err
    return final_tensors(out), secs


def trial(task: str, fx: dict[str, Path], root: Path, ref: dict[str, torch.Tensor], ref_s: float,
          rng: random.Random, name: str) -> dict:
    """One kill at a random moment of the run, then --resume until done; compares with `ref`."""
    out = root / f"{task}-{name}"
    after = rng.uniform(0.0, 1.05) * ref_s
    killed = run_killed(argv(task, fx, out), after)
    epochs_done = load_checkpoint(out, "last").meta["epoch"] if (out / "last.safetensors").exists() else 0
    # killed before the first last.safetensors: start again, replacing what the killed run left
    # (a best.safetensors or an epoch in metrics.jsonl make the folder a run that is otherwise refused)
    resume = ["--resume"] if epochs_done else ["--overwrite"]
    rc, _, err = run(argv(task, fx, out) + resume)
    assert rc == 0, err
    equal = bitwise_equal(final_tensors(out), ref)
    return {"task": task, "kill_after_s": round(after, 2), "killed": killed, "epochs_done_at_kill": epochs_done,
            "bitwise_equal": equal}


def main() -> None:
    import argparse
    import json
    import tempfile

    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    rng = random.Random(a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fx = make_fixtures(root / "fx")
        for task in a.tasks:
            ref, ref_s = reference(task, fx, root)
            for i in range(a.trials):
                print(json.dumps(trial(task, fx, root, ref, ref_s, rng, f"t{i}") | {"ref_s": round(ref_s, 2)}),
                      flush=True)


if __name__ == "__main__":
    main()
