"""`seqlab` command line: stats | train {lm,translate,forecast,classify} | evaluate |
generate | translate | forecast | classify.

Each task module in this package registers its own sub-commands (`register`) and
answers `evaluate` for its checkpoints. Exit codes: 0 success, 2 bad input (one-line
message on stderr, no traceback), 1 an unexpected failure, 130 / 143 a training run stopped by
SIGINT (Ctrl-C) / SIGTERM (128 + the signal's number; the finished epochs' checkpoints are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import re
import sys
import traceback
from pathlib import Path
from typing import Any, NamedTuple

from seqlab.cli.console import console_streams, one_line_warnings, outlive_readers, reader_gone
from seqlab.errors import SeqlabError
from seqlab.fileio import to_json
from seqlab.training.run_folder import opened_run_folder, release_run_folders, restore_overwritten
from seqlab.training.guard import TrainingInterrupted

TASK_MODULES = ("stats", "lm", "translate", "forecast", "classify")
# --device of the commands that load a checkpoint (as training's --device reads it: RunConfig.device)
DEVICE_HELP = "auto (CUDA if available), cpu, cuda or cuda:N (default: auto)"


# Every text float() reads as a negative number: -5, -.5, -1e5, -1.5E-3, -inf, -Infinity, -nan, and its
# digits grouped by single underscores, as float() and int() take them (-1_000, -1_000.5, -1e1_0; not -_1, -1__0)
_DIGITS = r"\d+(?:_\d+)*"
_NEGATIVE_NUMBER = re.compile(rf"^-({_DIGITS}(?:\.(?:{_DIGITS})?)?(?:e[-+]?{_DIGITS})?|\.{_DIGITS}(?:e[-+]?{_DIGITS})?"
                              r"|inf|infinity|nan)$", re.IGNORECASE)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, its usage errors one line (SPEC: exit 2 with a one-line message), not the
    whole usage text (31 lines for `train lm`) before it; sub-parsers are of this class too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # argparse reads an argument that starts with "-" as an option unless it looks like a negative
        # number, and its pattern knows only -5 and -.5: `--lr -inf`, `--lr -1e5`, `--clip -nan` were
        # "expected one argument" where `--lr=-inf` gives the option's own message. A real option still
        # wins: argparse matches option names (and their prefixes) before it asks this pattern.
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def parse_known_args(self, args=None, namespace=None):
        # what this (sub-)parser was given, for the did-you-mean of a missing required option (error())
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        # argparse reports unknown arguments from the top parser ("seqlab: error: ... see `seqlab --help`"),
        # though they were left over by a sub-command: report them from the sub-command's parser instead
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self._command_parser(parsed)
            hint = parser._did_you_mean(extras, parser._flags())
            parser.error(f"unrecognized argument{'s' * (len(extras) > 1)}: {' '.join(extras)}{hint}")
        return parsed

    def error(self, message: str):
        if message.startswith("the following arguments are required:"):  # a typo of a required option, say
            missing = [m for m in message.split(":", 1)[1].replace(",", " ").split() if m.startswith("-")]
            message += self._did_you_mean(getattr(self, "_given", []), missing, name_typo=True)
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")

    def _command_parser(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        """The parser of the (sub-)command `parsed` was read by: `seqlab train lm`'s for train lm."""
        parser = self
        while True:
            sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
            name = getattr(parsed, sub.dest, None) if sub is not None else None
            if name not in getattr(sub, "choices", {}):
                return parser
            parser = sub.choices[name]

    def _flags(self) -> list[str]:
        return [flag for flag in self._option_string_actions if flag.startswith("--")]

    def _did_you_mean(self, given: list[str], flags: list[str], name_typo: bool = False) -> str:
        """'; did you mean --config?' for each of `given` that is an unknown option close to one of
        `flags` (--confg, --confg=x.toml), '' for none; `name_typo`: '; --confg: did you mean --config?'
        (a message that does not quote it). (One that is a prefix of an option is an abbreviation
        argparse reads as that option, not a typo.)"""
        pairs = []
        for word in given:
            flag = word.split("=", 1)[0]
            if not flag.startswith("--") or any(f.startswith(flag) for f in self._option_string_actions):
                continue
            close = difflib.get_close_matches(flag, flags, n=1)
            if close:
                pairs.append((flag, close[0]))
        if len(pairs) == 1:
            return f"; {pairs[0][0] + ': ' if name_typo else ''}did you mean {pairs[0][1]}?"
        return f"; did you mean {', '.join(f'{b} for {a}' for a, b in pairs)}?" if pairs else ""


def build_parser() -> argparse.ArgumentParser:
    from seqlab.config import user_path

    parser = _Parser(prog="seqlab", description="Recurrent sequence models.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="train a model").add_subparsers(
        dest="task", required=True, metavar="TASK")
    for name in TASK_MODULES:
        importlib.import_module(f"seqlab.cli.{name}").register(commands, train)
    ev = commands.add_parser("evaluate", help="evaluate a checkpoint on held-out data; prints JSON",
                             description="Prints one JSON object: the figure (ppl, bleu, accuracy or mse) and "
                                         "`tokens`, the number of predictions it averages over (a language model "
                                         "predicts every token of the split after its first, <eos> included: "
                                         "one fewer than the split's tokens in train lm's start line).")
    ev.add_argument("--checkpoint", required=True, type=user_path, metavar="DIR",
                    help="a run's --out folder or a checkpoint file")
    ev.add_argument("--split", choices=("valid", "test"), default=None,
                    help="held-out split (default: test, or valid where a run has no test split; forecast "
                         "runs have one held-out part, after the training window, and take no --split)")
    ev.add_argument("--data", default=None, type=user_path, metavar="FILE",
                    help="language models: score this text file instead of the run's split (read as the run's "
                         "training text was: same level, line ends, tokenising; words outside the run's vocabulary "
                         "are <unk>); translate: a tab-separated pair file; text classifiers: a labelled "
                         ".csv/.tsv/.txt file, read as the run's training files were (a label the run never saw is "
                         "refused)")
    ev.add_argument("--which", choices=("best", "last"), default=None,
                    help="which checkpoint of a run folder: best, the epoch the run kept (lowest validation loss; "
                         "classify: highest validation accuracy, or macro F1 with --select macro_f1; the default) or last, "
                         "the final epoch (with a run folder; a .safetensors file given to --checkpoint is "
                         "itself the choice)")
    ev.add_argument("--device", default="auto", help=DEVICE_HELP[:-1] + "; a forecast checkpoint's auto is the CPU, "
                                                                 "as in train forecast)")
    ev.add_argument("--batch-size", type=int, default=None, dest="batch_size",
                    help="examples per evaluation batch (default: the run's; forecast reads the series at once)")
    ev.set_defaults(func=evaluate)
    return parser


def evaluate(args: argparse.Namespace) -> int:
    from seqlab.training.checkpoint import TASK_MODELS, load_checkpoint

    if args.batch_size is not None and args.batch_size <= 0:
        raise SeqlabError(f"--batch-size must be a positive integer, got {args.batch_size}")
    if args.data is not None and args.split is not None:
        raise SeqlabError(f"--split names the run's own held-out part; --data scores a file: give one "
                          f"(--split {args.split} or --data {args.data})")
    ckpt = load_checkpoint(args.checkpoint, checkpoint_which(args))
    task = ckpt.meta.get("task")
    module = importlib.import_module(f"seqlab.cli.{task}") if task in TASK_MODULES else None
    if module is None or not hasattr(module, "evaluate"):
        raise SeqlabError(f"checkpoint {str(ckpt.path)!r} holds a {task!r} model, which `seqlab evaluate` cannot evaluate")
    if args.data is not None and task not in ("lm", "translate", "classify"):  # (classify refuses MNIST runs itself)
        raise SeqlabError(f"--data applies to language-model, translation and text classification checkpoints; "
                          f"{str(ckpt.path)!r} holds a {TASK_MODELS[task]}: leave --data out to evaluate it on its run's "
                          "held-out data")
    result = module.evaluate(args, ckpt)
    result.update({k: v for k, v in training_figures(ckpt).items() if k not in result})
    print(to_json(result))
    return 0


def checkpoint_which(args: argparse.Namespace) -> str:
    """The `which` to load --checkpoint with: --which, best when it is left out (its default is None
    so that a given one is seen). --which picks a file of a run folder; with --checkpoint a file, the
    file is the choice, so a --which naming another is refused (`--which last` on best.safetensors
    read best, silently); one naming the file given (`--which best` on best.safetensors) is harmless."""
    which = getattr(args, "which", None)
    if which is None:
        return "best"
    path = Path(args.checkpoint)
    wanted = f"{which}.safetensors"
    if path.is_file() and path.name != wanted:
        sibling = path.parent / wanted
        fix = (f"give --checkpoint {path.parent} --which {which}, or the file {sibling}" if sibling.is_file() else
               f"give the run folder with --which {which}, or leave --which out to use this file")
        raise SeqlabError(f"--which applies to a run folder; you gave the file {path}: {fix}")
    return which


def training_figures(ckpt) -> dict:
    """The training figures (`train_*`) of the checkpoint's epoch, to print beside the held-out ones:
    the checkpoint's own record (language models keep one), else its epoch's line of the run
    folder's metrics.jsonl when that line agrees with every figure the checkpoint holds (a checkpoint
    copied into another run's folder gets none: not that run's figures); {} otherwise."""
    from seqlab.training.metrics import read_metrics

    meta = ckpt.meta
    record = meta.get("metrics")
    if not isinstance(record, dict):
        record = None
        try:
            rows = read_metrics(Path(ckpt.path).parent / "metrics.jsonl")
        except (OSError, ValueError):
            rows = []  # no log beside it, or one being written
        row = next((r for r in reversed(rows) if isinstance(r, dict) and r.get("epoch") == meta.get("epoch")), None)
        shared = [k for k in (row or {}) if k != "epoch" and k in meta and not isinstance(meta[k], (dict, list))]
        if row is not None and shared and all(row[k] == meta[k] for k in shared):
            record = row
    if record is None:
        return {}
    return {k: v for k, v in record.items() if k.startswith("train_")}


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


class TrainSettings(NamedTuple):
    """A training command's settings (`train_config`)."""

    cfg: Any  # the task's config
    notes: tuple[str, ...]  # kept_note lines, for the trainer to say once the resume is accepted (load_optimizer)
    given: set[str]  # the leaves the command sets: its flags and its --config file's keys (config.given_keys)


def train_config(cls: type, args: argparse.Namespace) -> TrainSettings:
    """A training command's config: defaults, then --config, then flags (config.build_config).

    --resume-from (last or best) implies --resume. --resume keeps the run's own learning rate, clip
    threshold and --skip-nonfinite (those of the checkpoint it goes on from: checkpoint_resume.RUN_KEEPS;
    the weight decay too where neither a flag nor the file sets it: RUN_FILLS)
    unless a flag changes them: not the defaults (a run trained at --lr 20 must not go on at 1 because
    the flag was left out), nor its --config file's values (which undid a resume at a lower --lr on
    the next plain one), which are kept and said: the `notes`, which the command hands its trainer (a
    refused resume says its error alone).
    """
    from seqlab.cli.config_task import check_task
    from seqlab.config import build_config, flat_dict, given_keys, load_toml, replace
    from seqlab.training.checkpoint_meta import run_settings
    from seqlab.training.checkpoint_resume import RUN_FILLS, RUN_KEEPS, kept_note
    from seqlab.training.distributed import is_main_process

    path = getattr(args, "config", None)
    file_data = load_toml(path) if path else None  # read once: the task check, the config and given_keys use it
    if file_data is not None:  # another task's file: named as such, before any of its keys fails alone
        check_task(cls, path, file_data)
    cfg = build_config(cls, args, file_data=file_data)
    given, notes = given_keys(args, file_data=file_data), ()
    # --resume-from (either) alone, or a file's resume_from = "best": the resume is meant (a file's "last",
    # the default, asks for nothing: a file may list every default)
    implied = "resume_from" in vars(args) or ("resume_from" in given and cfg.run.resume_from == "best")
    if implied and not cfg.run.resume:
        if "resume" in given:  # --no-resume (or resume = false in the file)
            raise SeqlabError(f"--resume-from {cfg.run.resume_from} continues the run in --out, which --no-resume "
                              "(or the config file's resume = false) says not to do: give one of them")
        cfg = replace(cfg, resume=True)
    if cfg.run.resume:
        run = run_settings(cfg.run.out, RUN_KEEPS + RUN_FILLS, cfg.run.resume_from)
        flags, has = set(vars(args)) - {"config"}, flat_dict(cfg)
        # only what this task's config has: a folder of another task's run (a classify run's clip
        # for forecast, which has none) is refused by the resume itself, with the right message
        kept = {k: v for k, v in run.items() if k in RUN_KEEPS
                and k not in flags and k in has and isinstance(v, bool) == isinstance(has[k], bool)}
        filled = {k: v for k, v in run.items() if k in RUN_FILLS and k not in given and k in has}
        # (not a flag: set by the config file)
        notes = tuple(kept_note(key, has[key], kept[key]) for key in sorted(kept.keys() & given)
                      if has[key] != kept[key] and is_main_process())
        if kept or filled:
            cfg = replace(cfg, **kept, **filled)
        # (a changed --clip or --lr is said by the trainer, once the resume is accepted: load_optimizer)
    return TrainSettings(cfg, notes, given)


def eval_batch_size(args: argparse.Namespace, ckpt, saved: int) -> int:
    """`evaluate`'s batch: --batch-size (checked by `evaluate`), else the run's eval_batch_size,
    which an edited checkpoint may hold below 1 (named as the checkpoint's fault)."""
    from seqlab.training.checkpoint import bad_checkpoint

    if getattr(args, "batch_size", None) is not None:
        return args.batch_size
    if saved < 1:
        raise bad_checkpoint(ckpt, f"its config's eval_batch_size is {saved}, not a positive integer "
                                   "(--batch-size N overrides it)")
    return saved


def check_out(out: str) -> None:
    """An empty --out would write the run's files into the current folder: refuse it."""
    if not str(out).strip():
        raise SeqlabError("--out is empty: name a folder for the run's checkpoints, metrics and plots "
                          "(e.g. --out runs/mine)")


def add_no_progress(parser: argparse.ArgumentParser, note: str = "") -> None:
    """Every `seqlab train` command's --no-progress, one help text (`note` follows it): tqdm draws
    its bar on stderr when that is a terminal."""
    parser.add_argument("--no-progress", action="store_true", dest="no_progress",
                        help="no progress bar, even on a terminal" + note)


def show_progress(args: argparse.Namespace) -> bool | None:
    """--no-progress taken out of `args` (a run option, not a config key that --resume compares):
    the trainers' show_progress, False with it, None (a bar on a terminal only) without."""
    return False if args.__dict__.pop("no_progress", False) else None


def out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` is a failed allocation: MemoryError, or torch's (a RuntimeError, CUDA's
    torch.cuda.OutOfMemoryError among them, saying it cannot allocate memory or is out of memory),
    or a tensor too large to count in 64 bits (`_size_overflow`: --hidden 2**61)."""
    if isinstance(exc, MemoryError) or _size_overflow(exc):
        return True
    if not isinstance(exc, RuntimeError):
        return False
    text = str(exc).lower()
    return any(s in text for s in ("can't allocate memory", "cannot allocate memory", "out of memory"))


def _size_overflow(exc: BaseException) -> bool:
    """Whether `exc` is torch refusing a tensor whose size or byte count is past 2**63 (--hidden 2**61,
    --beam 2**64): a size past int64 (a TypeError or ValueError; torch 2.2's repeat_interleave and arange raise
    it as a RuntimeError), or its bytes (a RuntimeError)."""
    text = str(exc)
    return (isinstance(exc, (TypeError, ValueError, RuntimeError)) and "Overflow when unpacking long" in text) or \
        (isinstance(exc, RuntimeError) and "Storage size calculation overflowed" in text) or \
        (isinstance(exc, OverflowError) and "too big to convert" in text)  # (numpy: --length 2**64)


# What each command that is not training can make smaller (training: the model's and the batches' sizes)
_SMALLER = {"generate": "--num-samples, --num-tokens", "translate": "--batch-size, --beam, --max-len",
            "evaluate": "--batch-size", "classify": "--batch-size", "forecast": "--steps",
            "stats": "the text (a part of the file, or --level char on a file of few lines)"}


def out_of_memory_message(exc: BaseException, command: str = "train") -> str:
    asked = re.search(r"tried to allocate ([0-9.]+ ?[A-Za-z]*)", str(exc))
    size = f" (one allocation of {asked.group(1)})" if asked else \
        " (a size past 2**63)" if _size_overflow(exc) else ""
    if command in _SMALLER:
        return (f"out of memory: `seqlab {command}` needs more memory than this machine has{size}; reduce "
                f"{_SMALLER[command]}")
    return (f"out of memory: the run needs more memory than this machine has{size}; reduce the sizes "
            "(--hidden, --embed, --layers, --batch-size, --num-steps, ...); checkpoints already written are kept")


def main(argv: list[str] | None = None) -> int:
    # what it prints never fails on a character (redirected output is UTF-8); seqlab's own warnings are
    # `seqlab: warning: ...` lines, as its other warnings
    with console_streams(), one_line_warnings():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    try:  # building the parser imports every task (seconds): a Ctrl-C there is one line too
        parser = build_parser()
    except KeyboardInterrupt:
        print("seqlab: interrupted", file=sys.stderr)
        return 130
    args = parser.parse_args(argv)
    # a training run is the work and its lines on stdout a view of it: a reader that goes away
    # (`| head -3`) must not stop it before the epoch being saved, as it ends `generate | head`
    with outlive_readers(_reader_gone_note) if args.command == "train" else contextlib.nullcontext():
        return _run(args)


def _reader_gone_note() -> str:
    folder = opened_run_folder()
    log = "its --out folder's metrics.jsonl" if folder is None else str(folder / "metrics.jsonl")
    # (said at the final flush too, after the run ended: buffered output to a pipe is written only then)
    return f"seqlab: note: stdout's reader went away: the rest of the log is not printed; it is in {log}"


def _rewind_note(args: argparse.Namespace, exc: SeqlabError) -> list[str]:
    """A stop for a non-finite loss says "the same command plus --resume": after --resume-from best that
    command would go back to best's epoch again, setting aside the epochs just trained."""
    from seqlab.config import leaf_items, load_toml
    from seqlab.training.guard import NonFiniteLoss

    if not isinstance(exc, NonFiniteLoss) or "--resume" not in str(exc):
        return []
    if getattr(args, "resume_from", None) == "best":
        return ["use --resume in place of --resume-from best, which would go back to best's epoch again"]
    if getattr(args, "resume_from", None) is None and getattr(args, "config", None):  # the run read the file already
        if dict(leaf_items(load_toml(args.config))).get("resume_from") == "best":
            return ["set resume_from = \"last\" in the config file (or give --resume-from last): its \"best\" "
                    "would go back to best's epoch again"]
    return []


def _say(line: str) -> None:
    """Print the line a run stops on, but under torchrun only once per machine when every rank stops on
    the same one: the machine's first rank says it, the others keep silent (`said_by_main`); a line of a
    rank's own is still said."""
    from seqlab.training.distributed import said_by_main

    if not said_by_main(line):
        print(line, file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    notes: list[str] = []  # an --overwrite run that ended before its first checkpoint: its old run put back
    try:
        try:
            code = int(args.func(args) or 0)
            if args.command == "train":  # a reader gone after the last line: said while the run's folder is known
                sys.stdout.flush()
        finally:
            restore_overwritten(notes.append)
            release_run_folders()
    except SeqlabError as exc:  # still one line: the notes follow the error on it
        _say(f"seqlab: error: {'; '.join([str(exc), *notes, *_rewind_note(args, exc)])}")
        return 2
    except TrainingInterrupted as exc:  # a checkpoint was saved; say how to go on
        _say(f"seqlab: {exc.line(notes)}")  # (torchrun forwards a signal to every rank: all stop at one step)
        return exc.exit_code  # 128 + the signal: 130 for SIGINT, 143 for SIGTERM
    except KeyboardInterrupt as exc:  # (a second signal: StoppedAtOnce, with its number)
        print(f"seqlab: {'; '.join(['interrupted', *notes])}", file=sys.stderr)
        return 128 + getattr(exc, "signum", 2)
    except Exception as exc:  # a bug: show everything (running out of memory, or a reader gone, is not one)
        # `seqlab generate ... | head`: what was read is what was wanted (training outlives its readers:
        # a broken pipe that reaches here is another's)
        if args.command != "train" and reader_gone(exc):
            return 0
        if out_of_memory(exc):
            _say(f"seqlab: error: {'; '.join([out_of_memory_message(exc, args.command), *notes])}")
            return 2
        traceback.print_exc()
        print("seqlab: unexpected failure (a bug; please report it with the traceback above)", file=sys.stderr)
        for note in notes:
            print(f"seqlab: {note}", file=sys.stderr)
        return 1
    for note in notes:  # none after a run that saved a checkpoint
        print(f"seqlab: {note}", file=sys.stderr)
    return code
