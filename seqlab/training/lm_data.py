"""The data side of a language-model run: the corpus a config names, what a run records about
the corpus it trained on, and what it reports and warns about that data (<unk> shares, text
without spaces, a --data file changed since the run started, another vocabulary)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch

from seqlab.data.corpora import LMCorpus
from seqlab.errors import SeqlabError
from seqlab.training.checkpoint import Checkpoint

if TYPE_CHECKING:
    from seqlab.training.lm import LMConfig


def load_corpus(cfg: LMConfig, vocab=None, source=None, run_folder=None) -> LMCorpus:
    """The corpus `cfg.data` names; `vocab`: a checkpoint's (its held-out splits read with it);
    `source`: a checkpoint's fingerprint of its --data file."""
    from seqlab.data.corpora import load_lm_corpus
    from seqlab.data.registry import run_data_file

    d = cfg.data
    max_tokens = None if d.max_tokens is not None and d.max_tokens < 0 else d.max_tokens  # -1: all
    if (d.dataset is None) == (d.data is None):
        raise SeqlabError("give exactly one of --dataset NAME or --data FILE")
    data = run_data_file(d.data, source, run_folder) if d.data is not None else None
    return load_lm_corpus(d.dataset, data, d.level, max_tokens=max_tokens if vocab is None else None,
                          min_freq=d.min_freq, max_size=d.max_vocab, vocab=vocab)


DATA_RECORDED = "data_recorded"  # checkpoint meta: cfg.data holds how the corpus was built (max_tokens, ...)


def data_config_for(cfg: LMConfig, corpus: LMCorpus, resumed: Checkpoint | None = None) -> LMConfig:
    """`cfg` with `data` saying where `corpus` came from: the checkpoints keep it, and `seqlab
    evaluate`/`generate` read the held-out split (and the vocabulary's source) from there.

    A `cfg.data` left empty is filled in from the corpus (a registered data set or a text file,
    and the options it was built with; a corpus built in memory stays unnamed: the library's
    evaluate_lm still scores it); one that names another data set, file, token level or build
    options than the corpus is refused, since the run would save a description of text it did not
    train on. `resumed`: the checkpoint a resumed run goes on from; one saved before runs recorded
    their corpus's build options keeps its own record (an empty cfg.data takes it), and only the
    data set and level are compared."""
    from seqlab.data.corpora import TEXT_DATASETS, data_name

    d = cfg.data
    old_record = resumed is not None and not resumed.meta.get(DATA_RECORDED)
    if old_record and d.dataset is None and d.data is None:
        from seqlab.training.checkpoint import task_config
        from seqlab.training.lm import LMConfig

        return dataclasses.replace(cfg, data=task_config(resumed, LMConfig, "lm").data)
    path = corpus.source.get("path") if isinstance(corpus.source, dict) else None
    if d.dataset is None and d.data is None:
        if corpus.source is None and corpus.name in TEXT_DATASETS:
            d = dataclasses.replace(d, dataset=corpus.name, level=corpus.level)
        elif isinstance(path, str):
            d = dataclasses.replace(d, data=path, level=corpus.level)
        else:
            return cfg
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
             unk_warning(corpus, "valid") if corpus.valid is not None else None]
    return [n for n in notes if n]


def unk_warning(corpus: LMCorpus, split: str) -> str | None:
    """A note on the <unk> of a held-out split, when they make its perplexity misleading, else None
    (`unk_note`)."""
    return unk_note(corpus.unk_rate(split), corpus.oov_rate(split), corpus.unk_rate("train"), len(corpus.vocab))


def unk_note(share: float, oov_share: float, train_share: float | None, vocab_size: int,
             scored: str | None = None) -> str | None:
    """A note on the <unk> among scored targets (`share` of them; `oov_share`: less the "<unk>"
    written in the text), when they make the perplexity misleading, else None:

    - the training targets hold no <unk> (`train_share` 0: --min-freq 0 or 1, no --max-vocab) but
      over UNSEEN_WARN of the scored ones do: the model never learned to predict <unk>, each costs
      about its worst loss (`train_share` None: not known, not said);
    - over UNK_WARN of the scored targets are <unk> because the vocabulary lacks them (a registered
      corpus's own "<unk>" words are its convention, not counted): predicting <unk> is easy.

    `scored`: a text file's path (`seqlab evaluate --data`), named in the note; else a held-out split."""
    ones, tokens = (("the held-out ones", "the held-out tokens") if scored is None else
                    (f"the tokens of {scored!r}",) * 2)
    if train_share == 0 and share > UNSEEN_WARN:
        return (f"the training tokens hold no <unk> (each is in the vocabulary) but {share:.1%} of {ones} "
                "are <unk> (never seen in training): the model never learned to predict <unk>, so each of them "
                f"costs about its worst loss and they inflate the {'held-out ' * (scored is None)}perplexity; "
                "--min-freq 2 makes the tokens seen once in training <unk>, so that the model learns where unseen "
                "ones go")
    if oov_share <= UNK_WARN:
        return None
    return (f"{oov_share:.1%} of {tokens} are <unk> (outside the {vocab_size:,}-token vocabulary): "
            "predicting the one <unk> for all of them is easy, so the perplexity understates the cost of rare "
            "words and compares only with runs of the same vocabulary; a larger --max-vocab or a lower "
            "--min-freq keeps more words")


def read_scored_text(path: str, cfg: LMConfig, vocab) -> tuple[torch.Tensor, int]:
    """A text file for `seqlab evaluate --data`, read as the run's training text was (its level, and
    its data set's style: the book's cleaning for the Time Machine, else raw text, "<eos>" at each
    line end of words), as ids of the run's `vocab`; and how many of its targets are the word "<unk>"
    written in it. Refused: text too short to predict a token, and text with none of the vocabulary's
    tokens (every one <unk>, line ends aside: its perplexity would say nothing)."""
    from seqlab.data.corpora import EOS, encode_file, text_style

    level = cfg.data.level
    stream, written = encode_file(path, level, text_style(cfg.data.dataset), vocab)
    if len(stream) < 2:
        raise SeqlabError(f"{path!r} holds {len(stream)} {level} token(s) as this model reads it: scoring needs "
                          "at least 2 (one to predict)")
    unknown = [vocab.unk] + ([vocab[EOS]] if EOS in vocab else [])
    if bool(torch.isin(stream, torch.tensor(unknown)).all()):
        raise SeqlabError(f"none of the {len(stream):,} {level} tokens of {path!r} is in the model's "
                          f"{len(vocab):,}-token vocabulary (each would be <unk>, and its perplexity would say "
                          "nothing): give text in the language and script the model was trained on")
    return stream, written


def check_same_data(ckpt: Checkpoint, corpus: LMCorpus) -> None:
    """--resume: refuse a --data file (or folder of splits) whose bytes are not the run's: its
    splits, and so what the saved state goes on training on, would be other text."""
    from seqlab.data.registry import same_data

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
