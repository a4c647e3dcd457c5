"""The data side of a language-model run: the corpus a config names, what a run records about
the corpus it trained on, and what it reports and warns about that data (each split's size, the
files a --data folder gave, <unk> shares, text without spaces, a --data file changed since the
run started, another vocabulary)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from seqlab.data.corpora import LMCorpus
from seqlab.data.text import TextBlocks
from seqlab.errors import SeqlabError
from seqlab.training.checkpoint import Checkpoint

if TYPE_CHECKING:
    from seqlab.training.lm import LMConfig


def load_corpus(cfg: LMConfig, vocab=None, source=None, run_folder=None, held_out_only: bool = False
                ) -> LMCorpus:
    """The corpus `cfg.data` names; `vocab`: a checkpoint's (its held-out splits read with it);
    `source`: a checkpoint's fingerprint of its --data file; `held_out_only`: `load_lm_corpus`'s."""
    from seqlab.data.corpora import load_lm_corpus
    from seqlab.data.user_files import run_data_file

    d = cfg.data
    max_tokens = None if d.max_tokens is not None and d.max_tokens < 0 else d.max_tokens  # -1: all
    if d.dataset is None and d.data is None and vocab is not None:
        raise SeqlabError("the run was trained on a corpus built in Python, which it cannot read again: "
                          "give a text to score with --data FILE (or score the corpus with "
                          "seqlab.training.lm.evaluate_lm)")
    if (d.dataset is None) == (d.data is None):
        raise SeqlabError("give exactly one of --dataset NAME or --data FILE")
    data = run_data_file(d.data, source, run_folder) if d.data is not None else None
    return load_lm_corpus(d.dataset, data, d.level, max_tokens=max_tokens if vocab is None else None,
                          min_freq=d.min_freq, max_size=d.max_vocab, vocab=vocab, held_out_only=held_out_only)


DATA_RECORDED = "data_recorded"  # checkpoint meta: cfg.data holds how the corpus was built (max_tokens, ...)


def data_config_for(cfg: LMConfig, corpus: LMCorpus, resumed: Checkpoint | None = None) -> LMConfig:
    """`cfg` with `data` saying where `corpus` came from: the checkpoints keep it, and `seqlab
    evaluate`/`generate` read the held-out split (and the vocabulary's source) from there.

    A `cfg.data` left empty is filled in from the corpus (a registered data set or a text file,
    and the options it was built with; a corpus built in memory stays unnamed, its token level
    recorded: the library's evaluate_lm scores it, `seqlab evaluate --data FILE` a file); one
    that names another data set, file, token level or build options than the corpus is refused,
    since the run would save a description of text it did not train on. `resumed`: the checkpoint a resumed run goes on from; one saved before runs recorded
    their corpus's build options keeps its own record (an empty cfg.data takes it), and only the
    data set and level are compared."""
    from seqlab.data.corpora import TEXT_DATASETS, data_name

    d = cfg.data
    old_record = resumed is not None and not resumed.meta.get(DATA_RECORDED)
    if old_record and d.dataset is None and d.data is None:
        return dataclasses.replace(cfg, data=_saved_config(resumed).data)
    path = corpus.source.get("path") if isinstance(corpus.source, dict) else None
    if d.dataset is None and d.data is None:
        if corpus.source is None and corpus.name in TEXT_DATASETS:
            d = dataclasses.replace(d, dataset=corpus.name, level=corpus.level)
        elif isinstance(path, str):
            d = dataclasses.replace(d, data=path, level=corpus.level)
        else:  # built in memory: no source to record, but its level (generate splits a prefix by it);
            # a resumed run keeps the level it recorded (runs before this was recorded: the default)
            level = corpus.level if resumed is None else _saved_config(resumed).data.level
            return dataclasses.replace(cfg, data=dataclasses.replace(d, level=level))
        built = corpus.built_with or {}  # and how it was built: a resume reads the same text again
        if built:
            d = dataclasses.replace(d, max_tokens=built["max_tokens"], min_freq=built["min_freq"],
                                    max_vocab=built["max_size"])
        return dataclasses.replace(cfg, data=d)
    named = d.dataset if d.dataset is not None else data_name(d.data)
    if named != corpus.name or d.level != corpus.level:
        raise SeqlabError(f"the config's data ({named}, {d.level} level) is not the corpus given "
                          f"({corpus.name}, {corpus.level} level): the run would record the wrong data; "
                          f"pass the corpus the config names, or leave cfg.data empty to record the corpus's")
    differs = [f"{key} {said!r} where the corpus was built with {built!r}"
               for key, said, built in ([] if old_record else _build_options(d, corpus)) if said != built]
    if differs:
        raise SeqlabError(f"the config's data options are not those the corpus given was built with "
                          f"({'; '.join(differs)}): a resumed run would read other text; pass the corpus "
                          "the config describes, or leave cfg.data empty to record the corpus's")
    return cfg


def _saved_config(ckpt: Checkpoint) -> LMConfig:
    from seqlab.training.checkpoint import task_config
    from seqlab.training.lm import LMConfig

    return task_config(ckpt, LMConfig, "lm")


def vocab_from_checkpoint(ckpt: Checkpoint | str | Path):
    """The run's vocabulary (a `Vocab`) from an LM checkpoint: a loaded one (read again from no
    file), a run folder (its best.safetensors) or a checkpoint file. With `model_from_checkpoint`'s
    model it encodes prefixes and decodes ids, as `seqlab generate` does."""
    from seqlab.data.vocab import Vocab
    from seqlab.training.checkpoint import as_checkpoint, bad_checkpoint

    ckpt = as_checkpoint(ckpt)
    _saved_config(ckpt)  # checks the task and the metadata ("vocab" an object) first
    try:
        return Vocab.from_dict(ckpt.meta["vocab"])
    except SeqlabError as exc:
        raise bad_checkpoint(ckpt, f"its vocabulary: {exc}") from None


def _build_options(d, corpus: LMCorpus) -> list[tuple[str, object, object]]:
    """(config key, the config's value, the corpus's) for each option load_lm_corpus built it with
    (none for a corpus built otherwise)."""
    built = corpus.built_with
    if not built:
        return []
    max_tokens = None if d.max_tokens is not None and d.max_tokens < 0 else d.max_tokens  # -1: all
    return [("max_tokens", max_tokens, built["max_tokens"]), ("min_freq", d.min_freq, built["min_freq"]),
            ("max_vocab", d.max_vocab, built["max_size"])]


UNK_WARN = 0.05  # a larger share of held-out <unk> made by the vocabulary is warned about
UNSEEN_WARN = 0.005  # ... and this share when training had none (each costs ~ the worst loss: ~ +5% ppl at 0.5%)
KEEP_EITHER = "a larger --max-vocab or a lower --min-freq keeps more words"  # unk_note's advice, by default


def unk_rates(corpus: LMCorpus) -> dict:
    """The shares of <unk> among the training and validation targets (`LMCorpus.unk_rate`): what the
    streams hold, a registered corpus's own "<unk>" words included (PTB's 4.7% of valid)."""
    return {"train_unk_rate": round(corpus.unk_rate("train"), 6),
            "valid_unk_rate": None if corpus.valid is None else round(corpus.unk_rate("valid"), 6)}


def data_warnings(corpus: LMCorpus) -> list[str]:
    """What the training log warns about the data (each one line): word "tokens" of text written
    without spaces, and held-out <unk> that make the perplexity misleading (`unk_warning`)."""
    from seqlab.data.corpora import EOS
    from seqlab.data.text import unsegmented_note

    notes = [unsegmented_note(corpus.vocab.token_freqs, skip=(EOS,)) if corpus.level == "word" else None,
             unk_warning(corpus, "valid", rate_key="valid_unk_rate") if corpus.valid is not None else None]
    return [n for n in notes if n]


def unk_warning(corpus: LMCorpus, split: str, rate_key: str = "unk_rate", train_share: float | None = None
                ) -> str | None:
    """A note on the <unk> of a held-out split, when they make its perplexity misleading, else None
    (`unk_note`; `rate_key`: the name the split's whole <unk> share is reported under; `train_share`:
    the training targets' <unk> share, by default the corpus's training split's)."""
    train = corpus.unk_rate("train") if train_share is None else train_share
    return unk_note(corpus.unk_rate(split), corpus.oov_rate(split), train, len(corpus.vocab),
                    rate_key=rate_key, keep=vocab_advice(corpus.vocab, corpus.built_with))


def unk_note(share: float, oov_share: float, train_share: float | None, vocab_size: int,
             scored: str | None = None, rate_key: str = "unk_rate", case: str | None = None,
             keep: str | None = None) -> str | None:
    """A note on the <unk> among scored targets (`share` of them; `oov_share`: less the "<unk>"
    written in the text), when they make the perplexity misleading, else None:

    - the training targets hold no <unk> (`train_share` 0: --min-freq 0 or 1, no --max-vocab) but
      over UNSEEN_WARN of the scored ones do: the model never learned to predict <unk>, each costs
      about its worst loss (`train_share` None: not known, not said);
    - over UNK_WARN of the scored targets are <unk> because the vocabulary lacks them (a registered
      corpus's own "<unk>" words are its convention, not counted): predicting <unk> is easy. When
      written "<unk>" make `share` (reported as `rate_key`) differ, the note gives both.

    `scored`: a text file's path (`seqlab evaluate --data`), named in the note; else a held-out split.
    `case`: `other_case`'s note (most <unk> are known words in another letter case), said instead
    of the advice on the vocabulary; `keep`: that advice (`vocab_advice`), by default the two options."""
    ones, tokens = (("the held-out ones", "the held-out tokens") if scored is None else
                    (f"the tokens of {scored!r}",) * 2)
    case_advice = f", and {case} and score it again; as it is, the perplexity says little" if case else None
    if train_share == 0 and share > UNSEEN_WARN:
        head = (f"the training tokens hold no <unk> (each is in the vocabulary) but {share:.1%} of {ones} "
                "are <unk> (never seen in training)")
        return head + (case_advice or (
                ": the model never learned to predict <unk>, so each of them costs about its worst loss and they "
                f"inflate the {'held-out ' * (scored is None)}perplexity; --min-freq 2 makes the tokens seen once "
                "in training <unk>, so that the model learns where unseen ones go"))
    if oov_share <= UNK_WARN:
        return None
    if f"{share:.1%}" == f"{oov_share:.1%}":
        head = f"{oov_share:.1%} of {tokens} are <unk> (outside the {vocab_size:,}-token vocabulary)"
    else:
        head = (f"{oov_share:.1%} of {tokens} are <unk> because the {vocab_size:,}-token vocabulary lacks them "
                f"({rate_key} {share:.1%} counts the <unk> written in the text too)")
    return head + (case_advice or (
            ": predicting the one <unk> for all of them is easy, so the perplexity understates the cost of rare "
            "words and compares only with runs of the same vocabulary; " + (keep or KEEP_EITHER)))


def vocab_advice(vocab, built: dict | None = None) -> str:
    """What would put more words in the vocabulary, for `unk_note`: only the option that left training
    words out. `built`: the corpus's build options (`LMCorpus.built_with`: min_freq, max_size); without
    them (a run's vocabulary read back), what its counts show. Every training word kept: neither
    option changes anything, the <unk> are words the training text never had."""
    from seqlab.data.corpora import EOS
    from seqlab.data.vocab import UNK

    freqs = vocab.token_freqs  # the training split's counts, most frequent first
    if not freqs:  # (a vocabulary saved without its counts: nothing to tell)
        return KEEP_EITHER
    dropped = [f for t, f in freqs if t not in vocab]
    if not dropped:
        return ("the vocabulary holds every word of the training text, so these are words the training text "
                "never had: more (or more varied) training text is the fix, not --max-vocab or --min-freq")
    kept = [f for t, f in freqs if t in vocab and t not in (UNK, EOS)]  # the words the vocabulary added
    outside = getattr(vocab, "left_out", len(dropped))  # (all of them: a vocabulary read back keeps some counts)
    more = (f" more of the training text's words ({outside:,} of its {len(kept) + outside:,} distinct "
            "words are outside the vocabulary)")
    min_freq, max_size = (built or {}).get("min_freq") or 0, (built or {}).get("max_size")
    capped = max_size is not None and len(kept) >= max_size
    if dropped[0] < min_freq:  # (so min_freq > 1)
        # --min-freq 1 leaves training no <unk> to learn from, which the unseen-<unk> note warns of:
        # with 2 the two notes would each send the user to the other
        trade = ("; at 1 the training text holds no <unk> for the model to learn unseen words from (the other "
                 "warning), so where both come up more training text is the fix" if min_freq == 2 else "")
        return (f"a lower --min-freq (now {min_freq}) and a larger --max-vocab (now {max_size}) keep" if capped
                else f"a lower --min-freq (now {min_freq}) keeps") + more + trade
    if capped:
        return f"a larger --max-vocab (now {max_size}) keeps{more}"
    # options not known (a run's vocabulary read back): a cut between words of the same count is a cap's
    return ("a larger --max-vocab" if kept and dropped[0] == kept[-1] else
            "a larger --max-vocab or a lower --min-freq") + f" keeps{more}"


def other_case(unknown: dict, n_unk: int, vocab) -> str | None:
    """When over half of a text's `n_unk` <unk> targets are tokens the vocabulary holds in lower
    (or upper) case (`unknown`: each token outside the vocabulary -> its count), a note that says
    so, and how to change the text's case; else None. A word model of lower-cased text reads "The"
    and "THE" as <unk>; the Time Machine's reading lower-cases already, so its text never needs it."""
    from seqlab.data.corpora import EOS

    if not n_unk:
        return None
    special = {vocab.to_tokens(vocab.unk), EOS}
    for case, change, tr in (("lower", str.lower, "A-Z a-z"), ("upper", str.upper, "a-z A-Z")):
        hits = sum(n for t, n in unknown.items() if isinstance(t, str) and change(t) != t and change(t) in vocab)
        if 2 * hits > n_unk:
            whole = all(change(t) == t for t in vocab.idx_to_token if isinstance(t, str) and t not in special)
            was = f" (the run's text was {case}-case)" if whole else ""
            return (f"{hits / n_unk:.1%} of the <unk> tokens are in the vocabulary in {case} case{was}: "
                    f"{case}-case this file (e.g. tr {tr})")
    return None


_UNTABBED_LINE = re.compile(r"^(?=[^\n]*\S)[^\t\n]*$", re.MULTILINE)  # a non-blank line without a tab


def pair_file_note(text: str | bytes | TextBlocks, path: str) -> str | None:
    """A note when every non-blank line of a text to score holds a tab: a `source<TAB>target` pair
    file (for a translation checkpoint) that a language model would score as plain text. `text`: a
    str, its UTF-8 bytes (`read_text_utf8`'s) or its `TextBlocks`."""
    from seqlab.data.token_ids import str_blocks

    # (searched, not split into lines: a list of every line of a large file would double its memory;
    # a line-aligned block at a time, so that bytes are never decoded whole)
    raw = text.raw if isinstance(text, TextBlocks) else text
    if ("\t" if isinstance(raw, str) else b"\t") not in raw:
        return None
    blank = True
    for block in str_blocks(text):
        if _UNTABBED_LINE.search(block):
            return None
        blank = blank and block.isspace()
    if blank:
        return None
    return (f"every line of {path!r} holds a tab: it looks like a tab-separated `source<TAB>target` pair file "
            "(for translation checkpoints); this language model scores it as plain text, tabs and both sides "
            "included")


@dataclasses.dataclass
class ScoredText:
    """A text file as `seqlab evaluate --data` scores it with a language model (`read_scored_text`)."""

    stream: torch.Tensor  # (N,) int64 ids of the run's vocabulary
    unk_rate: float  # the share of its targets that are <unk> ("<unk>" written in it included)
    warnings: list[str]  # what stderr says about it, one line each


def read_scored_text(path: str, cfg: LMConfig, vocab, train_share: float | None = None) -> ScoredText:
    """A text file for `seqlab evaluate --data`, read as the run's training text was (its level, and
    its data set's style: the book's cleaning for the Time Machine, else raw text, "<eos>" at each
    line end of words), as ids of the run's `vocab`; its <unk> share, and the warnings on its <unk>
    (`unk_note`; `train_share`: the run's training <unk> share, None if not known) and on a pair
    file given as text. Refused: text too short to predict a token, and text with none of the
    vocabulary's tokens (every one <unk>, line ends aside: its perplexity would say nothing)."""
    from seqlab.data.corpora import EOS, encode_with_vocab, read_indexed_text, text_style, unk_shares
    from seqlab.data.user_files import check_not_folder

    check_not_folder(path, prefer=("test.txt", "valid.txt"))  # (a held-out part to score, say)
    level, style = cfg.data.level, text_style(cfg.data.dataset)
    text = read_indexed_text(path, level, style)  # (never the whole decoded str: beside the bytes it doubled the peak)
    scored = encode_with_vocab(text, level, style, vocab)
    stream = scored.ids
    if len(stream) < 2:
        raise SeqlabError(f"{path!r} holds {len(stream)} {level} token(s) as this model reads it: scoring needs "
                          "at least 2 (one to predict)")
    n_unk = int((stream[1:] == vocab.unk).sum())
    case = other_case(scored.unknown, n_unk, vocab)
    unknown = [vocab.unk] + ([vocab[EOS]] if EOS in vocab else [])
    if bool(torch.isin(stream, torch.tensor(unknown)).all()):
        raise SeqlabError(f"none of the {len(stream):,} {level} tokens of {path!r} is in the model's "
                          f"{len(vocab):,}-token vocabulary (each would be <unk>, and its perplexity would say "
                          "nothing): " + (case or "give text in the language and script the model was trained on"))
    unk_rate, oov_rate = unk_shares(stream, vocab.unk, scored.written_unk)
    built = {"min_freq": cfg.data.min_freq, "max_size": cfg.data.max_vocab}  # (the run's vocabulary's options)
    notes = [pair_file_note(text, path), unk_note(unk_rate, oov_rate, train_share, len(vocab), scored=path, case=case,
                                                  keep=vocab_advice(vocab, built))]
    return ScoredText(stream, unk_rate, [n for n in notes if n])


def check_same_data(ckpt: Checkpoint, corpus: LMCorpus) -> None:
    """--resume: refuse a --data file (or folder of splits) whose bytes are not the run's: its
    splits, and so what the saved state goes on training on, would be other text."""
    from seqlab.data.user_files import same_data

    differs = same_data(ckpt.meta.get("data_file"), corpus.source)
    if differs:
        raise SeqlabError(f"--resume: the run's --data {corpus.name} has changed since the run started ({differs}): "
                          "its saved state would go on training on other text; restore it, or start a new run "
                          "(another --out, or --overwrite)")


def check_compatible(ckpt: Checkpoint, corpus: LMCorpus) -> None:
    """Refuse a checkpoint trained on another vocabulary."""
    from seqlab.data.vocab import Vocab

    saved = Vocab.from_dict(ckpt.meta["vocab"])
    if saved != corpus.vocab and "\r" in saved and "\r" not in corpus.vocab:
        raise SeqlabError(f"checkpoint {str(ckpt.path)!r} was trained when a '\\r' of Windows line ends was a "
                          "token of its own; seqlab now reads \\r\\n as \\n (as Python's text mode does), so "
                          "this run cannot go on with that vocabulary: start a new run")
    if saved != corpus.vocab:
        raise SeqlabError(f"checkpoint {str(ckpt.path)!r} was trained with another vocabulary "
                          f"({len(ckpt.meta['vocab'].get('idx_to_token', []))} tokens) than this data gives "
                          f"({len(corpus.vocab)}): use the same --dataset/--data, --level and vocabulary options")


def split_sizes(corpus: LMCorpus) -> str:
    """"2,000 training tokens, 11,000 held-out (valid), 12,000 test": what the run reads of each split."""
    sizes = [f"{len(corpus.train):,} training tokens"]
    if corpus.valid is not None:
        sizes.append(f"{len(corpus.valid):,} held-out (valid)")
    if corpus.test is not None:
        sizes.append(f"{len(corpus.test):,} test")
    return ", ".join(sizes)


def count_note(corpus: LMCorpus) -> str | None:
    """What the start line's token counts (`split_sizes`) count, where that is not plain: the
    training split cut by --max-tokens (the held-out ones are read whole), and the <eos> that
    words of raw text end each line with (`seqlab stats` counts the words alone; a split's
    perplexity, and evaluate's "tokens", count its predictions: every token after the first)."""
    from seqlab.data.corpora import EOS

    parts = []
    cap = (corpus.built_with or {}).get("max_tokens")
    if cap is not None and len(corpus.train) == cap:  # (a shorter text is read whole)
        held = " and ".join(s for s in ("valid", "test") if getattr(corpus, s) is not None)
        parts.append(f"--max-tokens keeps the first {cap:,} training tokens ({held} whole)")
    if EOS in corpus.vocab:
        parts.append("the counts include an <eos> at each line end (seqlab stats counts the words alone), and a "
                     "split of N tokens is N - 1 predictions (evaluate's \"tokens\")")
    return f"data: {'; '.join(parts)}" if parts else None


def folder_note(corpus: LMCorpus) -> str | None:
    """For a --data folder: the split files the run read, and the folder's other entries, not read."""
    files = corpus.source.get("files") if isinstance(corpus.source, dict) else None
    if not isinstance(files, dict):
        return None
    folder = Path(corpus.source["path"])
    note = f"data: read {', '.join(files)} of the folder {str(folder)!r}"
    try:
        others = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if p.name not in files)
    except OSError:  # (it was just read: a folder gone since is no matter for this line)
        return note
    if others:
        note += (f"; not read: {', '.join(others[:5])}{', ...' if len(others) > 5 else ''} (a folder's splits "
                 "are train.txt, valid.txt and optionally test.txt)")
    return note
