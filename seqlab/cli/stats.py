"""`seqlab stats`: n-gram tables, Zipf exponents and the log-log plot of a corpus."""

from __future__ import annotations

import argparse
import sys

from seqlab.fileio import to_json


def register(commands, train) -> None:
    from seqlab.config import user_path

    p = commands.add_parser("stats", help="n-gram frequencies and Zipf's law of a corpus",
                            description="Top unigrams/bigrams/trigrams, the fitted Zipf exponent, "
                                        "and a log-log frequency plot.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", help="a registered data set (timemachine, tinyshakespeare, ptb, wikitext-2)")
    src.add_argument("--data", type=user_path, metavar="FILE", help="any UTF-8 text file")
    p.add_argument("--split", choices=("train", "valid", "test"), default=None,
                   help="which file of a data set with splits (ptb, wikitext-2) to count (default: train)")
    p.add_argument("--level", choices=("word", "char"), default="word",
                   help="count words or characters (default: word; train lm's is char)")
    p.add_argument("--style", choices=("book", "raw"), default=None,
                   help="book: letters only, lower case (default for timemachine); raw: text as is")
    p.add_argument("--top", type=int, default=10, help="how many of each n-gram to list (default 10)")
    p.add_argument("--plot", type=user_path, metavar="FILE.png", help="write the log-log plot of the three curves here")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seqlab.data.corpora import _STYLE, check_text_dataset, dataset_file, index_text, read_indexed_text
    from seqlab.data.stats import _fmt_alpha, describe_ids, plot_zipf
    from seqlab.errors import SeqlabError

    if args.top <= 0:
        raise SeqlabError(f"--top must be positive, got {args.top}")
    if args.plot:
        from seqlab.plotting import check_plot_path

        check_plot_path(args.plot)
    check_text_dataset(args.dataset)
    split = _split(args)
    name = args.dataset or args.data
    if split is not None:
        name = f"{name} {split} split"
    path = dataset_file(args.dataset, split and f"{split}.txt") if args.dataset else args.data
    style = args.style or _STYLE.get(args.dataset or "", "raw")
    # the text's own tokens: no line-end markers (a word "<eos>" written in the text is counted); as
    # ids, not a list of str (10 M words of WikiText-2 x5 took 1.5 GB and 35 s so); from the file's
    # bytes (or its blocks, decoded once), never the whole decoded str, and not held while the n-grams are counted
    text = read_indexed_text(path, args.level, style)
    # (said for raw words, read as bytes; the last line ends with one either way)
    line_ends = text.count(b"\n") + (not text.endswith(b"\n")) if isinstance(text, bytes) else None
    ids, types = index_text(text, args.level, style, line_ends=False)
    del text
    result = describe_ids(ids, types, top=args.top)
    if result["warning"]:
        print(f"seqlab: warning: {result['warning']}", file=sys.stderr)
    if args.plot:
        tables = {label: result["ngrams"][n]["freqs"] for n, label in ((1, "unigram"), (2, "bigram"), (3, "trigram"))}
        plot_zipf(args.plot, tables, title=f"{name} ({args.level} level): frequency vs rank")
    if args.json:
        for table in result["ngrams"].values():
            del table["freqs"]
        result.update(dataset=args.dataset or args.data, split=split, level=args.level, plot=args.plot)
        print(to_json(result))
        return 0
    uni = result["ngrams"][1]
    print(f"{name} ({args.level} level, {style} text): {result['tokens']:,} tokens, {uni['types']:,} types")
    if args.level == "word" and style == "raw":
        print(_eos_note(result["tokens"], line_ends))
    for n, label in ((1, "unigrams"), (2, "bigrams"), (3, "trigrams")):
        table = result["ngrams"][n]
        print(f"\ntop {label} ({table['types']:,} distinct):")
        for gram, count in table["top"]:
            print(f"  {count:>8,}  {gram}")
    print()
    for n, label in ((1, "unigrams"), (2, "bigrams"), (3, "trigrams")):
        t = result["ngrams"][n]
        ranks = f" (fitted on ranks {t['zipf_ranks'][0]}-{t['zipf_ranks'][1]})" if t["zipf_ranks"] else ""
        print(f"Zipf exponent, {label}: alpha = {_fmt_alpha(t['zipf_alpha'])}{ranks}")
    if args.plot:
        print(f"\nplot written to {args.plot}")
    return 0


def _eos_note(n: int, line_ends: int) -> str:
    """What the count of `n` words of raw text leaves out: the <eos> that train lm and evaluate read
    at each of its `line_ends` (token_chunks), and so the count their logs give."""
    return f"(tokens without <eos>: train lm and evaluate read {n + line_ends:,}, with an <eos> at each line end)"


def _split(args: argparse.Namespace) -> str | None:
    """The split counted: --split, by default train, for a data set of train/valid/test files (PTB,
    WikiText-2); None for one text (--split refused: it has none). A --data folder (of splits, say)
    is refused naming its file of that split."""
    from seqlab.data.registry import get_dataset
    from seqlab.data.user_files import SPLIT_NAMES, check_not_folder
    from seqlab.errors import SeqlabError

    if args.data is not None:
        check_not_folder(args.data, prefer=(SPLIT_NAMES[args.split or "train"],))
    has_splits = args.dataset is not None and set(SPLIT_NAMES.values()) <= set(get_dataset(args.dataset).files)
    if has_splits:
        return args.split or "train"
    if args.split is not None:
        what = args.dataset or repr(args.data)
        raise SeqlabError(f"--split {args.split}: {what} is one text, without splits: leave --split out (it "
                          "chooses which file of ptb or wikitext-2 to count)")
    return None
