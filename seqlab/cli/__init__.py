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
    ev.add_argument("--split", choices=("valid", "test"), default="test",
                    help="held-out split (default: test, or valid where a data set has no test split)")
    ev.add_argument("--which", choices=("best", "last"), default="best")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--batch-size", type=int, default=None, dest="batch_size")
    ev.set_defaults(func=evaluate)
    return parser


def evaluate(args: argparse.Namespace) -> int:
    from seqlab.training.checkpoint import load_checkpoint

    ckpt = load_checkpoint(args.checkpoint, args.which)
    task = ckpt.meta.get("task")
    module = importlib.import_module(f"seqlab.cli.{task}") if task in TASK_MODULES else None
    if module is None or not hasattr(module, "evaluate"):
        raise SeqlabError(f"checkpoint {str(ckpt.path)!r} holds a {task!r} model, which `seqlab evaluate` cannot evaluate")
    result = module.evaluate(args, ckpt)
    print(json.dumps(result))
    return 0


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
