"""`seqlab` command line: stats | train {lm,translate,forecast,classify} | evaluate |
generate | translate | forecast | classify.

Each task module in this package registers its own sub-commands (`register`) and
answers `evaluate` for its checkpoints. Exit codes: 0 success, 2 bad input (one-line
message on stderr, no traceback), 1 an unexpected failure.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback

from seqlab.errors import SeqlabError
from seqlab.training.guard import TrainingInterrupted

TASK_MODULES = ("stats", "lm", "translate", "forecast", "classify")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqlab", description="Recurrent sequence models.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="train a model").add_subparsers(
        dest="task", required=True, metavar="TASK")
    for name in TASK_MODULES:
        importlib.import_module(f"seqlab.cli.{name}").register(commands, train)
    ev = commands.add_parser("evaluate", help="evaluate a checkpoint on held-out data; prints JSON")
    ev.add_argument("--checkpoint", required=True, metavar="DIR", help="a run's --out folder or a checkpoint file")
    ev.add_argument("--split", choices=("valid", "test"), default=None,
                    help="held-out split (default: test, or valid where a run has no test split; forecast "
                         "runs have one held-out part, after the training window, and take no --split)")
    ev.add_argument("--which", choices=("best", "last"), default="best")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--batch-size", type=int, default=None, dest="batch_size",
                    help="examples per evaluation batch (default: the run's; forecast reads the series at once)")
    ev.set_defaults(func=evaluate)
    return parser


def evaluate(args: argparse.Namespace) -> int:
    from seqlab.training.checkpoint import load_checkpoint

    if args.batch_size is not None and args.batch_size <= 0:
        raise SeqlabError(f"--batch-size must be a positive integer, got {args.batch_size}")
    ckpt = load_checkpoint(args.checkpoint, args.which)
    task = ckpt.meta.get("task")
    module = importlib.import_module(f"seqlab.cli.{task}") if task in TASK_MODULES else None
    if module is None or not hasattr(module, "evaluate"):
        raise SeqlabError(f"checkpoint {str(ckpt.path)!r} holds a {task!r} model, which `seqlab evaluate` cannot evaluate")
    result = module.evaluate(args, ckpt)
    print(json.dumps(result))
    return 0


def pick_split(asked: str | None, have: list[str], what: str, why: str = "") -> str:
    """The held-out split to evaluate: `asked` when the run has it (`have`: its non-empty held-out
    splits), else an error naming the ones it has; without --split, test, or valid where there is
    no test split."""
    if not have:
        raise SeqlabError(f"{what} has no held-out split to evaluate on{why}")
    if asked is None:
        return "test" if "test" in have else have[0]
    if asked not in have:
        its = f"its held-out split is {have[0]}" if len(have) == 1 else f"its held-out splits are {' and '.join(have)}"
        raise SeqlabError(f"{what} has no {asked} split{why}; {its}: use --split {have[0]} or leave --split out")
    return asked


def check_out(out: str) -> None:
    """An empty --out would write the run's files into the current folder: refuse it."""
    if not str(out).strip():
        raise SeqlabError("--out is empty: name a folder for the run's checkpoints, metrics and plots "
                          "(e.g. --out runs/mine)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SeqlabError as exc:
        print(f"seqlab: error: {exc}", file=sys.stderr)
        return 2
    except TrainingInterrupted as exc:  # a checkpoint was saved; say how to go on
        print(f"seqlab: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("seqlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # a bug: show everything
        traceback.print_exc()
        print("seqlab: unexpected failure (a bug; please report it with the traceback above)", file=sys.stderr)
        return 1
