"""`seqlab train translate`, `seqlab translate`, and `seqlab evaluate` for translate checkpoints.

The book's run (9.7) is these options with its values. They are also the defaults, except
--num-examples: by default the whole of fra-eng (167k pairs, not the book's first 600):

    seqlab train translate --dataset fra-eng --num-examples 600 --num-steps 10 \\
        --embed 32 --hidden 32 --layers 2 --dropout 0.1 --batch-size 64 --epochs 300 \\
        --lr 0.005 --out runs/nmt_book
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from seqlab.config import PathText, RunConfig
from seqlab.fileio import to_json


@dataclass
class TranslateDataConfig:
    dataset: str = "fra-eng"  # a registered pair file
    data: PathText | None = None  # a file of `source<TAB>target` lines instead of --dataset
    num_examples: int | None = None  # the book's meaning: lines 0..N of the file; none = all
    num_steps: int = 10  # sentences are cut or padded to this many tokens
    valid_frac: float = 0.05  # share of the distinct source sentences held out for validation, all their pairs with them
    test_frac: float = 0.05  # of the distinct source sentences, held out for the test BLEU
    split_seed: int = 0  # seed of the train/valid/test split
    min_freq: int = 2  # rarer training tokens become <unk>


@dataclass
class TranslateModelConfig:
    attention: bool = False  # the additive (Bahdanau) attention decoder
    bidirectional: bool = False  # the encoder reads both ways
    pack: bool = False  # encoder reads each source only up to its length (the book's reads the padding)
    embed: int = 32  # embedding size
    hidden: int = 32  # GRU units per layer
    layers: int = 2  # GRU layers in the encoder and the decoder
    dropout: float = 0.1  # dropout between GRU layers
    fast: bool = True  # training loss: output layer + CE in one step on the CPU for >= 1,000 target words (exact); --no-fast: logits + F.cross_entropy


@dataclass
class TranslateTrainConfig:
    batch_size: int = 64  # sentence pairs per batch
    epochs: int = 300  # passes over the training pairs
    lr: float = 0.005  # learning rate
    optimizer: Literal["sgd", "adam", "adamw"] = "adam"  # the optimiser
    clip: float = 1.0  # gradient clipping: the largest global gradient norm kept; 0: no clipping
    bleu_sentences: int = 500  # valid_bleu is greedy BLEU on N valid pairs spread evenly over the split (every len/N-th; all if fewer)
    bleu_every: int = 1  # epochs between valid_bleu figures (0: never)
    time_limit_s: float | None = None  # stop training (mid-epoch) after this many seconds
    skip_nonfinite: bool = False  # skip steps whose loss/gradient is NaN/inf instead of stopping


@dataclass
class TranslateConfig:
    data: TranslateDataConfig = field(default_factory=TranslateDataConfig)
    model: TranslateModelConfig = field(default_factory=TranslateModelConfig)
    train: TranslateTrainConfig = field(default_factory=TranslateTrainConfig)
    run: RunConfig = field(default_factory=RunConfig)


def register(commands, train) -> None:
    """Add `seqlab train translate` and `seqlab translate`."""
    from seqlab.cli import DEVICE_HELP, add_no_progress
    from seqlab.config import add_config_args, user_path

    p = train.add_parser("translate", help="train an encoder-decoder translator (fra-eng)",
                         description="Seq2seq GRU translator, optionally with additive attention; "
                                     "defaults are the book's 9.7 model and training settings, on the "
                                     "whole of fra-eng; the book's run uses its first 600 pairs: "
                                     "--num-examples 600, or --config configs/fra_eng_book.toml.")
    add_config_args(p, TranslateConfig)
    add_no_progress(p)
    p.set_defaults(func=run_train)

    t = commands.add_parser(
        "translate", help="translate sentences with a trained checkpoint",
        description="Translates each sentence (an argument, or a line of --file FILE or of standard input) and "
                    "prints one line per input, in order: a blank line for a blank one. Sentences given as "
                    "arguments come first, then the lines of --file. With neither, standard input is read "
                    "when it is not a terminal. Each argument or line is one sentence (it is not split at a "
                    "full stop), preprocessed as the training data was (lower case, a space before , . ! ?); "
                    "the output is in the same form (--detok undoes it for reading). Input is decoded "
                    "--batch-size sentences at a time and each batch is printed as soon as it is done. A line "
                    "that cannot be translated (longer than the model reads, or of unknown words only) gets a "
                    "warning on stderr that "
                    "names it, and an empty output line; the others are translated. One sentence given as "
                    "the only argument (no --file) is an error instead. Notes on stderr say which checkpoint is used, "
                    "which words are read as <unk>, and which translations (with --n-best, which candidates) "
                    "reached --max-len without ending.",
        epilog="--n-best N prints N lines per input line instead of one, each INDEX<TAB>SCORE<TAB>TRANSLATION "
               "(see --n-best). exit status: 0; 2 for bad arguments, or when any input line could not be "
               "translated (its output line is empty; with --n-best, its N lines are INDEX<TAB><TAB>).")
    t.add_argument("--checkpoint", required=True, type=user_path, metavar="DIR",
                   help="a run's --out folder or a checkpoint file")
    t.add_argument("sentences", nargs="*", metavar="SENTENCE",
                   help="sentences to translate, translated before the lines of --file")
    t.add_argument("--file", type=user_path, metavar="FILE",
                   help="translate each line of FILE ('-': standard input), after any SENTENCE arguments")
    t.add_argument("--batch-size", type=int, default=64, dest="batch_size",
                   help="sentences decoded together; each batch is printed as soon as it is done (default 64)")
    t.add_argument("--beam", type=int, default=1,
                   help="beam size K (1: greedy; default 1). Beam search stops a sentence once K candidates "
                        "have ended (fairseq's convention), so a larger beam is not guaranteed a translation "
                        "the model scores above greedy's")
    t.add_argument("--max-len", type=int, default=None, dest="max_len",
                   help="most output tokens, <eos> included (default: the model's num_steps); a translation "
                        "that reaches it without ending gets a note on stderr (with --n-best, one note per input "
                        "line naming the ranks of the candidates that did)")
    t.add_argument("--alpha", type=float, default=0.75,
                   help="length normalisation exponent of the beam's score, sum of log p / L**alpha with L "
                        "the length counting <eos> (default 0.75; at --beam 1 it changes only --n-best's SCORE)")
    t.add_argument("--n-best", type=int, default=None, dest="n_best", metavar="N",
                   help="print the N best translations of each input line, best first, as lines "
                        "INDEX<TAB>SCORE<TAB>TRANSLATION (n-best lists as Moses and fairseq print them, "
                        "tab-separated): INDEX is the input line's number from 0 (arguments first, then the "
                        "lines of --file), for grouping; SCORE the length-normalised log-probability the beam "
                        "ranks by (see --alpha), 4 decimals. Always N lines per input line, the N translations "
                        "distinct, the first the one printed without --n-best. A line without a translation (a "
                        "blank one, or one that could not be translated) gives N lines INDEX<TAB><TAB>, as do "
                        "the places of candidates the beam could not find (only where fewer than N exist: "
                        "--max-len 1 and a target vocabulary of fewer than N words, say). Needs --beam N or "
                        "more (--n-best 1 also works at --beam 1)")
    detok = t.add_mutually_exclusive_group()
    detok.add_argument("--detok", action="store_const", const="plain", default=None,
                       help="print each translation for reading, undoing the training data's preprocessing:"
                            " no space before , . ! ? (preprocessing put one "
                            "there; the spaces around « » ; : are left as the data has them) and the first "
                            "letter of the sentence upper case (\"je suis calme .\" -> \"Je suis calme.\"); "
                            "other capitals (names, \"I\") were lower-cased and do not come back. With --n-best, "
                            "the TRANSLATION column too. BLEU (seqlab evaluate) is computed on the tokenised "
                            "text, as without --detok")
    detok.add_argument("--detok-french", action="store_const", const="french", dest="detok",
                       help="as --detok, with French spacing: the space before ! and ? is kept (\"Va !\", as "
                            "fra-eng's French writes it), the one before , and . removed")
    t.add_argument("--which", choices=("best", "last"), default=None,
                   help="which checkpoint of a run folder: best, the epoch with the lowest valid loss "
                        "(default); last, the final epoch (a .safetensors file given to --checkpoint is itself "
                        "the choice)")
    t.add_argument("--device", default="auto", help=DEVICE_HELP)
    t.set_defaults(func=run_translate)


def run_train(args: argparse.Namespace) -> int:
    from seqlab.cli import check_out, show_progress, train_config
    from seqlab.errors import SeqlabError
    from seqlab.training import distributed
    from seqlab.training.translate import fit

    bar = show_progress(args)
    given = vars(args)
    # like `train lm`: one source; one named on the command line replaces the config file's
    if given.get("data") is not None and given.get("dataset") is not None:
        raise SeqlabError("give exactly one of --dataset NAME or --data FILE")
    if "dataset" in given and "data" not in given:
        args.data = None
    cfg, notes, _ = train_config(TranslateConfig, args)
    check_out(cfg.run.out)
    with distributed.session():  # under torchrun: a dead rank gives a message, not a hang
        record = fit(cfg, notes=notes, show_progress=bar)
    if distributed.is_main_process():  # the last line, JSON, as `train lm` and `train classify` end
        print(to_json({k: record.get(k) for k in ("epoch", "train_ppl", "valid_ppl", "valid_bleu", "best_epoch",
                                                  "tokens_per_sec", "wall_s")}))
    return 0


def run_translate(args: argparse.Namespace) -> int:
    import sys

    import torch

    from seqlab.cli.input_lines import chunks
    from seqlab.data.translation import BOS, EOS
    from seqlab.errors import SeqlabError
    from seqlab.generation.translate import decode, decode_n_best
    from seqlab.runtime import resolve_device
    from seqlab.cli import checkpoint_which
    from seqlab.training.checkpoint import expect_task, load_checkpoint
    from seqlab.training.translate import load_translator

    if args.beam <= 0:
        raise SeqlabError(f"--beam must be at least 1, got {args.beam}")
    if args.max_len is not None and args.max_len <= 0:
        raise SeqlabError(f"--max-len must be at least 1, got {args.max_len}")
    if not 0 <= args.alpha < float("inf"):  # nan fails this too
        raise SeqlabError(f"--alpha must be a finite number >= 0 (the length-normalisation exponent; 0: none), "
                          f"got {args.alpha}")
    if args.batch_size <= 0:
        raise SeqlabError(f"--batch-size must be at least 1 (sentences decoded together), got {args.batch_size}")
    n_best = getattr(args, "n_best", None)
    _check_n_best(n_best, args.beam)
    lines, single = _input_lines(args)  # a missing --file or an empty input fails here, before the model loads
    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint, checkpoint_which(args))
    expect_task(ckpt, "translate")
    model, vocabs = load_translator(ckpt, device)
    tgt, max_len = vocabs.tgt_vocab, args.max_len or vocabs.num_steps
    write = _writer(tgt, getattr(args, "detok", None))
    said_which, failed, total = False, 0, 0
    left = ("its output line is left empty" if n_best is None else
            f"its {n_best} output line{'s' if n_best > 1 else ''} {'are' if n_best > 1 else 'is'} INDEX<TAB><TAB>")
    for chunk in chunks(lines, args.batch_size):
        first, total = total, total + len(chunk)  # the chunk's first input line, numbered from 0
        sources, notes, unread = _read_chunk(chunk, vocabs, single, left)
        failed += unread
        if not said_which:  # after the first check: a single sentence's error stays the one line
            print(_loaded_note(ckpt, Path(args.checkpoint).is_file()), file=sys.stderr)
            said_which = True
        todo = [i for i, source in enumerate(sources) if source is not None]
        found = [[] for _ in chunk]  # each line's hypotheses, best first; none for a line left empty
        if todo:
            src = torch.tensor([sources[i].ids for i in todo], device=device)
            src_len = torch.tensor([sources[i].length for i in todo], device=device)
            if n_best is None:
                hyps = [[h] for h in decode(model, src, src_len, tgt[BOS], tgt[EOS], beam_size=args.beam,
                                            max_len=max_len, alpha=args.alpha)]
            else:
                hyps = decode_n_best(model, src, src_len, tgt[BOS], tgt[EOS], beam_size=args.beam, n_best=n_best,
                                     max_len=max_len, alpha=args.alpha)
            for i, hs in zip(todo, hyps):
                found[i] = hs
                cut = _cut_note(hs, n_best, max_len)
                if cut:
                    notes.append(_message("note", chunk[i][0], cut))
        for note in notes:
            print(note, file=sys.stderr)
        if n_best is None:
            out = [write(hs[0].tokens) if hs else "" for hs in found]
        else:
            out = [row for j, hs in enumerate(found) for row in _n_best_rows(first + j, hs, n_best, write)]
        print("\n".join(out), flush=True)  # this chunk's lines, now (a pipe sees them as they come)
    if total == 0:
        raise SeqlabError("nothing to translate: the input is empty")
    if failed:
        empty = "their output lines are empty" if n_best is None else "their output lines are INDEX<TAB><TAB>"
        print(f"seqlab: warning: {failed:,} of {total:,} lines could not be translated ({empty})", file=sys.stderr)
        return 2
    return 0


def _input_lines(args: argparse.Namespace):
    """(iterator of (where, text), single): the SENTENCE arguments, then the lines of --file (or
    of standard input: --file -, or neither given and stdin not a terminal). `single`: one
    argument and nothing else, whose failure is an error rather than a warning."""
    from seqlab.cli.input_lines import input_lines, stdin_has_input
    from seqlab.errors import SeqlabError

    sentences = list(args.sentences)
    arguments = [(f"argument {n}" if len(sentences) > 1 or args.file else "", s)
                 for n, s in enumerate(sentences, start=1)]
    source = args.file
    if source is None and not sentences and stdin_has_input():
        source = "-"
    if source is None and not sentences:
        raise SeqlabError("nothing to translate: give sentences as arguments, --file FILE, or lines on "
                          "standard input (--file -)")
    return input_lines(arguments, source, "translate"), source is None and len(sentences) == 1


def _check_n_best(n_best: int | None, beam: int) -> None:
    """--n-best N against --beam K (checked before the model loads): a beam keeps K candidates."""
    from seqlab.errors import SeqlabError

    if n_best is None:
        return
    if n_best < 1:
        raise SeqlabError(f"--n-best must be at least 1 (translations printed per input line), got {n_best}")
    if beam == 1 and n_best > 1:
        raise SeqlabError(f"--n-best {n_best} needs beam search: greedy decoding (--beam 1) finds one translation "
                          f"per line; add --beam {n_best} (or more)")
    if n_best > beam:
        raise SeqlabError(f"--n-best {n_best} exceeds --beam {beam}: the beam keeps {beam} candidates per "
                          f"sentence; raise --beam to at least {n_best}")


def _read_chunk(chunk, vocabs, single: bool, left: str):
    """(sources, notes, failed) of a chunk of (where, text): a SourceLine per line, or None for a
    line left without a translation (blank, undecodable, unreadable by the model); stderr's lines for
    them; how many could not be translated (a blank line is not a failure)."""
    from seqlab.cli.input_lines import Unreadable
    from seqlab.data.translation import read_source
    from seqlab.errors import SeqlabError

    sources, notes, failed = [], [], 0
    for where, text in chunk:
        if isinstance(text, Unreadable):  # a line of standard input that is not UTF-8
            notes.append(_message("warning", where, f"{text.reason}; {left}"))
            failed += 1
            sources.append(None)
            continue
        if not text.strip() and not single:  # blank in, blank out (not a failure)
            sources.append(None)
            continue
        if "\t" in text:
            notes.append(_message("warning", where, "holds a tab, translated as part of the sentence (a "
                                                    "`source<TAB>target` pair file? `cut -f1 FILE` gives "
                                                    "its sources)"))
        try:
            source = read_source(text, vocabs.src_vocab, vocabs.num_steps)
        except SeqlabError as exc:
            if single:
                hint = " (to read standard input, use --file -)" if text.strip() == "-" else ""
                raise SeqlabError(f"{exc}{hint}") from None
            notes.append(_message("warning", where, f"{exc}; {left}"))
            failed += 1
            sources.append(None)
            continue
        if source.unknown:
            notes.append(_message("note", where, "unknown words read as <unk>: "
                                                 + ", ".join(repr(w) for w in source.unknown)))
        sources.append(source)
    return sources, notes, failed


def _writer(tgt, detok: str | None):
    """tokens -> the output text: the tokenised form the model was trained on (words joined by a
    space), or with `detok` ("plain", "french") that form detokenised for reading."""
    from seqlab.data.detok import detokenize

    if detok is None:
        return lambda tokens: " ".join(tgt.to_tokens(tokens))
    return lambda tokens: detokenize(" ".join(tgt.to_tokens(tokens)), french=detok == "french")


def _cut_note(hyps, n_best: int | None, max_len: int) -> str | None:
    """The note for an input line whose hypotheses (best first) reached max_len without <eos>, or None:
    the translation; with --n-best, every candidate printed that did, by its rank from 1."""
    cut = [rank for rank, h in enumerate(hyps[:n_best or 1], start=1)
           if len(h.tokens) == h.length]  # no <eos>: it stopped at max_len
    if not cut:
        return None
    if n_best is None:
        return f"the translation reached --max-len {max_len} tokens without ending: it may be cut short"
    ranks = ", ".join(map(str, cut))
    if len(cut) == 1:
        return f"candidate {ranks} of {n_best} reached --max-len {max_len} tokens without ending: it may be cut short"
    return f"candidates {ranks} of {n_best} reached --max-len {max_len} tokens without ending: they may be cut short"


def _n_best_rows(index: int, hyps, n_best: int, write) -> list[str]:
    """An input line's `n_best` output lines, INDEX<TAB>SCORE<TAB>TRANSLATION (`write`: tokens -> text),
    best first; a place without a hypothesis (none for the line, or fewer candidates than n_best) is
    INDEX<TAB><TAB>."""
    rows = [f"{index}\t{h.score:.4f}\t{write(h.tokens)}" for h in hyps[:n_best]]
    return rows + [f"{index}\t\t"] * (n_best - len(rows))


def _message(kind: str, where: str, text: str) -> str:
    return f"seqlab: {kind}: {where}: {text}" if where else f"seqlab: {kind}: {text}"


def _loaded_note(ckpt, file_given: bool = False) -> str:
    """Which checkpoint `translate` uses, and of which epoch; how to get the final epoch's (--which
    last picks a run folder's file, so given best.safetensors itself: last.safetensors)."""
    meta = ckpt.meta
    epochs = ((meta.get("config") or {}).get("train") or {}).get("epochs")
    epoch = f"epoch {meta.get('epoch')}" + (f" of {epochs}" if epochs else "")
    final = "last.safetensors" if file_given else "--which last"
    why = {"best": f"; best: the lowest valid loss, {final} for the final epoch",
           "last": "; last: the final epoch saved"}.get(ckpt.path.stem, "")
    return f"seqlab: translating with {str(ckpt.path)!r} ({epoch}{why})"


def evaluate(args: argparse.Namespace, ckpt) -> dict:
    """`seqlab evaluate` on a translate checkpoint (seqlab.cli.translate_evaluate)."""
    from seqlab.cli.translate_evaluate import evaluate_translator

    return evaluate_translator(args, ckpt)
