"""What a language-model run's records say: the epoch's log line, the loss best.safetensors is chosen
on, the epoch it holds (from a checkpoint's metadata or from metrics.jsonl), and the perplexity plot."""

from __future__ import annotations

import math
from pathlib import Path


def plot_perplexity(out: Path, records: list[dict]) -> None:
    from seqlab.plotting import plot_curves

    epochs = [r["epoch"] for r in records]
    series = {"train": [r["train_ppl"] for r in records]}
    valid = [(r["epoch"], r["valid_ppl"]) for r in records if r.get("valid_ppl") is not None]
    if valid:
        series["valid"] = [v for _, v in valid]
    plot_curves(out / "perplexity.png", epochs, series, xlabel="epoch", ylabel="perplexity", logy=True,
                xs={"valid": [e for e, _ in valid]}, title="perplexity per epoch")


def chosen_of(meta: dict) -> dict:
    """The best epoch and its validation perplexity a checkpoint recorded (None: not recorded)."""
    epoch, ppl = meta.get("best_epoch"), meta.get("best_valid_ppl")
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        return {"best_epoch": None, "best_valid_ppl": None}
    return {"best_epoch": epoch, "best_valid_ppl": ppl if isinstance(ppl, (int, float)) else None}


def chosen_of_records(records: list[dict]) -> dict:
    """The epoch best.safetensors holds, from metrics.jsonl: the first of lowest selection loss."""
    best, chosen = math.inf, {"best_epoch": None, "best_valid_ppl": None}
    for r in records:
        loss = selection_loss(r)
        if isinstance(loss, (int, float)) and loss < best:
            best, chosen = loss, {"best_epoch": r.get("epoch"), "best_valid_ppl": r.get("valid_ppl")}
    return chosen


def epoch_line(record: dict) -> str:
    """The epoch's line of the log on stdout (its lr: the one it trained at, before any scheduler step)."""
    valid_text = "n/a" if record["valid_ppl"] is None else f"{record['valid_ppl']:.3f}"
    return (f"epoch {record['epoch']}: train ppl {record['train_ppl']:.3f}, valid ppl {valid_text}, "
            f"{record['tokens_per_sec']:,.0f} tokens/sec, lr {record['lr']:g}")


def selection_loss(record: dict) -> float:
    """What best.safetensors is chosen on: the validation loss, else (no validation split) the training loss."""
    return record["valid_loss"] if record.get("valid_loss") is not None else record.get("train_loss")


SMALL_SPLIT = 1000  # valid predictions under which a k picked on the split itself says little


def baseline_line(baseline: dict) -> str:
    """The run's opening line of counting baselines (seqlab.models.ngram.heldout_baselines)."""
    return (f"counting baselines, fitted on the training split, valid ppl over the same {baseline['tokens']:,} "
            f"predictions as the model's: uniform {baseline['uniform']:,.0f}, unigram {baseline['unigram']:.3f} "
            f"(add-{baseline['unigram_k']:g}), bigram {baseline['bigram']:.3f} (add-{baseline['bigram_k']:g}; "
            "each k the best on the valid split)"
            + (" -- a valid split this small fits its own k: read these loosely" if baseline["tokens"] < SMALL_SPLIT
               else ""))


def write_report(out: Path, report: dict) -> None:
    """report.json: the run's result (as its last line says) and the counting baselines."""
    from seqlab.errors import SeqlabError
    from seqlab.fileio import to_json

    try:
        (out / "report.json").write_text(to_json(report, indent=1))
    except OSError as exc:  # training is done and its checkpoints are written: say so, not a traceback
        raise SeqlabError(f"cannot write {str(out / 'report.json')!r}: {exc.strerror or exc}; the run's "
                          "checkpoints are kept (`seqlab evaluate --checkpoint` reports on them)") from None
