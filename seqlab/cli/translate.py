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
from typing import Literal

from seqlab.config import RunConfig
from seqlab.fileio import to_json


@dataclass
class TranslateDataConfig:
    dataset: str = "fra-eng"  # a registered pair file
    data: str | None = None  # a file of `source<TAB>target` lines instead of --dataset
    num_examples: int | None = None  # the book's meaning: lines 0..N of the file; none = all
    num_steps: int = 10  # sentences are cut or padded to this many tokens
    valid_frac: float = 0.05  # of the distinct source sentences (see seqlab.data.translation.split_pairs)
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
    clip: float = 1.0  # gradient clipping: global-norm threshold
    bleu_sentences: int = 500  # valid_bleu is greedy BLEU on the first N valid pairs
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
    from seqlab.config import add_config_args

    p = train.add_parser("translate", help="train an encoder-decoder translator (fra-eng)",
                         description="Seq2seq GRU translator, optionally with additive attention; "
                                     "defaults are the book's 9.7 model and training settings, on the "
                                     "whole of fra-eng; the book's run uses its first 600 pairs: "
                                     "--num-examples 600, or --config configs/fra_eng_book.toml.")
    add_config_args(p, TranslateConfig)
    p.set_defaults(func=run_train)

    t = commands.add_parser("translate", help="translate sentences with a trained checkpoint",
                            description="Prints one translation per line.")
    t.add_argument("--checkpoint", required=True, metavar="DIR", help="a run's --out folder or a checkpoint file")
    t.add_argument("sentences", nargs="*", metavar="SENTENCE")
    t.add_argument("--file", metavar="FILE", help="translate each non-empty line of FILE")
    t.add_argument("--beam", type=int, default=1, help="beam size (1: greedy; default 1)")
    t.add_argument("--max-len", type=int, default=None, dest="max_len",
                   help="most output tokens, <eos> included (default: the model's num_steps)")
    t.add_argument("--alpha", type=float, default=0.75, help="length normalisation exponent (default 0.75)")
    t.add_argument("--which", choices=("best", "last"), default="best")
    t.add_argument("--device", default="auto")
    t.set_defaults(func=run_translate)


def run_train(args: argparse.Namespace) -> int:
    from seqlab.cli import check_out, train_config
    from seqlab.errors import SeqlabError
    from seqlab.training import distributed
    from seqlab.training.translate import fit

    given = vars(args)
    # like `train lm`: one source; one named on the command line replaces the config file's
    if given.get("data") is not None and given.get("dataset") is not None:
        raise SeqlabError("give exactly one of --dataset NAME or --data FILE")
    if "dataset" in given and "data" not in given:
        args.data = None
    cfg = train_config(TranslateConfig, args)
    check_out(cfg.run.out)
    with distributed.session():  # under torchrun: a dead rank gives a message, not a hang
        record = fit(cfg)
    if distributed.is_main_process():  # the last line, JSON, as `train lm` and `train classify` end
        print(to_json({k: record.get(k) for k in ("epoch", "train_ppl", "valid_ppl", "valid_bleu", "tokens_per_sec",
                                                  "wall_s")}))
    return 0


def run_translate(args: argparse.Namespace) -> int:
    import torch

    from seqlab.data.text import read_text
    from seqlab.data.translation import BOS, EOS, encode_source
    from seqlab.errors import SeqlabError
    from seqlab.generation.translate import decode
    from seqlab.runtime import resolve_device
    from seqlab.training.checkpoint import expect_task, load_checkpoint
    from seqlab.training.translate import load_translator

    sentences = list(args.sentences)
    if args.file:
        sentences += [line for line in read_text(args.file).splitlines() if line.strip()]
    if not sentences:
        raise SeqlabError("nothing to translate: give sentences as arguments or --file FILE")
    if args.beam <= 0:
        raise SeqlabError(f"--beam must be at least 1, got {args.beam}")
    if args.max_len is not None and args.max_len <= 0:
        raise SeqlabError(f"--max-len must be at least 1, got {args.max_len}")
    if not 0 <= args.alpha < float("inf"):  # nan fails this too
        raise SeqlabError(f"--alpha must be a finite number >= 0 (the length-normalisation exponent; 0: none), "
                          f"got {args.alpha}")
    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint, args.which)
    expect_task(ckpt, "translate")
    model, vocabs = load_translator(ckpt, device)
    encoded = [encode_source(s, vocabs.src_vocab, vocabs.num_steps) for s in sentences]
    src = torch.tensor([e[0] for e in encoded], device=device)
    src_len = torch.tensor([e[1] for e in encoded], device=device)
    tgt = vocabs.tgt_vocab
    hyps = decode(model, src, src_len, tgt[BOS], tgt[EOS], beam_size=args.beam,
                  max_len=args.max_len or vocabs.num_steps, alpha=args.alpha)
    for h in hyps:
        print(" ".join(tgt.to_tokens(h.tokens)))
    return 0


def evaluate(args: argparse.Namespace, ckpt) -> dict:
    """Corpus BLEU (greedy, and beam 4) and per-token loss on the held-out split."""
    import math

    from seqlab.cli import pick_split
    from seqlab.data.registry import run_data_file
    from seqlab.data.translation import BOS, batches, legacy_pair_tokens, load_translation
    from seqlab.runtime import resolve_device
    from seqlab.training.translate import bleu_on, evaluate_loss, load_translator

    device = resolve_device(args.device)
    model, vocabs = load_translator(ckpt, device)
    d = ckpt.meta["config"]["data"]
    path = run_data_file(d["data"], ckpt.meta.get("data_file"), ckpt.path.parent) if d["data"] is not None else None
    data = load_translation(dataset=d["dataset"], data=path, num_examples=d["num_examples"],
                            num_steps=d["num_steps"], valid_frac=d["valid_frac"], test_frac=d["test_frac"],
                            split_seed=d["split_seed"], min_freq=d["min_freq"], strict=False,
                            legacy_tokens=legacy_pair_tokens(ckpt.meta))
    data.src_vocab, data.tgt_vocab = vocabs.src_vocab, vocabs.tgt_vocab  # the checkpoint's, whatever the file
    have = [s for s in ("valid", "test") if data.splits[s]]
    empty = [f"{s}_frac = {d[s + '_frac']}" for s in ("valid", "test") if s not in have]
    split = pick_split(args.split, have, "this run", f" (its {' and '.join(empty)})" if empty else "")
    pairs = data.splits[split]
    bs = 256 if args.batch_size is None else args.batch_size
    loss = evaluate_loss(model, batches(data.arrays(split), bs), bos=data.tgt_vocab[BOS], device=device)
    greedy = bleu_on(model, pairs, data, device=device, batch_size=bs)
    beam = bleu_on(model, pairs, data, device=device, beam_size=4, batch_size=bs)
    # `tokens`: the reference tokens (with <eos>) that loss and ppl average over; BLEU is a corpus
    # figure, and the greedy translations' own length is `output_tokens`
    mean = loss["loss_sum"] / loss["tokens"]
    return {"split": split, "bleu": greedy["bleu"], "bleu_beam4": beam["bleu"], "tokens": loss["tokens"],
            "output_tokens": greedy["tokens"], "sentences": greedy["sentences"], "loss": mean,
            "ppl": math.exp(min(mean, 700)), "epoch": ckpt.meta.get("epoch")}
