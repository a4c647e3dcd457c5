"""`seqlab train lm`, `seqlab generate`, and `seqlab evaluate` for language models."""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

from seqlab.fileio import to_json


def register(commands, train) -> None:
    """Add this task's sub-commands to `seqlab` and `seqlab train`."""
    from seqlab.cli import DEVICE_HELP, add_no_progress
    from seqlab.config import add_config_args, user_path
    from seqlab.training.lm import LMConfig

    p = train.add_parser("lm", help="train a character or word language model",
                         description="Train an RNN/GRU/LSTM/peephole language model (scratch or fused) on a "
                                     "registered data set (--dataset) or a text file (--data). Writes "
                                     "metrics.jsonl, perplexity.png, best/last.safetensors and report.json (the result, and "
                                     "the counting baselines it says first: uniform, add-k unigram and bigram "
                                     "perplexity on the valid split) to --out.")
    add_config_args(p, LMConfig)
    add_no_progress(p)
    p.set_defaults(func=run_train)

    g = commands.add_parser("generate", help="generate text from a language-model checkpoint",
                            description="Warm up on the prefix, then greedy (default) or sampled tokens.")
    g.add_argument("--checkpoint", required=True, type=user_path, metavar="DIR",
                   help="a run's --out folder or a .safetensors file")
    g.add_argument("--prefix", required=True, help="text to start from (characters or words, as the model reads; at the word level a line "
                        "break is the line end <eos> training read)")
    g.add_argument("--num-tokens", type=int, default=50, dest="num_tokens",
                   help="how many tokens to generate after the prefix (default: 50)")
    g.add_argument("--temperature", type=float, default=None,
                   help="sample from softmax(logits / T); without it, --top-k and --top-p: greedy")
    g.add_argument("--top-k", type=int, default=None, dest="top_k", help="sample among the k most likely tokens")
    g.add_argument("--top-p", type=float, default=None, dest="top_p",
                   help="nucleus sampling: among the most likely tokens whose probabilities sum to p (0 < p <= 1; "
                        "e.g. 0.9), after --temperature and --top-k")
    g.add_argument("--seed", type=int, default=None, help="seed for sampling (reproducible output)")
    g.add_argument("--num-samples", type=int, default=1, dest="num_samples",
                   help="continuations of the prefix, generated as one batch (printed one after another); more "
                        "than one needs --temperature, --top-k or --top-p (greedy ones are all alike) (default: 1)")
    g.add_argument("--which", choices=("best", "last"), default=None,
                   help="best: the epoch of lowest validation loss (default); last: the final epoch (with a run "
                        "folder; a .safetensors file given to --checkpoint is itself the choice)")
    g.add_argument("--device", default="auto", help=DEVICE_HELP)
    g.set_defaults(func=run_generate)


def run_train(args: argparse.Namespace) -> int:
    from seqlab.cli import check_out, show_progress, train_config
    from seqlab.runtime import resolve_device
    from seqlab.training.lm import LMConfig, fit_lm, load_corpus

    bar = show_progress(args)
    given = vars(args)
    # a source named on the command line replaces the config file's (--data over its dataset)
    if "data" in given and "dataset" not in given:
        args.dataset = None
    elif "dataset" in given and "data" not in given:
        args.data = None
    cfg, notes, _ = train_config(LMConfig, args)
    check_out(cfg.run.out)
    device = resolve_device(cfg.run.device)
    corpus = load_corpus(cfg)
    from seqlab.training import distributed

    with distributed.session():  # under torchrun: a dead rank gives a message, not a hang
        record = fit_lm(cfg, corpus, device, notes=notes, show_progress=bar)
    if distributed.is_main_process():
        # best_epoch: the epoch best.safetensors holds (what evaluate and generate use), as train translate says
        print(to_json({k: record.get(k) for k in ("epoch", "train_ppl", "valid_ppl", "best_epoch", "best_valid_ppl",
                                                  "valid_unk_rate", "tokens_per_sec", "wall_s")}))
    return 0


def _tokens(text: str, level: str, vocab) -> list[str]:
    """The prefix as the model's tokens: characters, or words with each line break the line end
    "<eos>" that training read (when the model's words have one: not the book's Time Machine)."""
    from seqlab.data.corpora import EOS

    if level == "char":
        return list(text)
    text = text.replace("\r\n", "\n")
    return text.replace("\n", f" {EOS} ").split() if EOS in vocab else text.split()


def run_generate(args: argparse.Namespace) -> int:
    from seqlab.data.vocab import Vocab
    from seqlab.errors import SeqlabError
    from seqlab.generation.prefix import check_prefix
    from seqlab.generation.sampling import check_generates, check_sampling, generate_stream
    from seqlab.runtime import resolve_device
    from seqlab.cli import checkpoint_which
    from seqlab.training.checkpoint import load_checkpoint
    from seqlab.training.lm import model_from_checkpoint

    check_sampling(args.temperature, args.top_k, args.top_p)
    if args.num_samples > 1 and (args.temperature, args.top_k, args.top_p) == (None, None, None):
        raise SeqlabError(f"--num-samples {args.num_samples} without --temperature, --top-k or --top-p would print "
                          f"{args.num_samples} identical greedy continuations: add a sampling option (e.g. "
                          "--temperature 0.8 or --top-p 0.9) to draw different ones")
    ckpt = load_checkpoint(args.checkpoint, checkpoint_which(args))
    device = resolve_device(args.device)
    net, cfg = model_from_checkpoint(ckpt, device)
    check_generates(net)
    vocab = Vocab.from_dict(ckpt.meta["vocab"])
    level = cfg.data.level
    prefix = check_prefix(_tokens(args.prefix, level, vocab), vocab, level)
    stream = generate_stream(net, [prefix], args.num_tokens, num_samples=args.num_samples,
                             temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                             device=device, every=STREAM_EVERY)
    # each sample's text so far, in pieces; one sample is written as it grows, several when all are done
    head = _Text(level)
    start = head.add(vocab.to_tokens(prefix))
    texts, pieces = None, None  # (made from the first chunk: the stream refuses a huge --num-samples first)
    written = 0  # pieces of sample 1 already on stdout (one sample)
    try:
        for chunk in stream:
            if texts is None:
                texts, pieces = [copy.copy(head) for _ in chunk], [[start] for _ in chunk]
            for text, said, ids in zip(texts, pieces, chunk):
                said.append(text.add(vocab.to_tokens(ids)))
            if len(pieces) == 1:
                new, written = "".join(pieces[0][written:]), len(pieces[0])
                sys.stdout.write(new)
                sys.stdout.flush()
    except KeyboardInterrupt:  # what each sample has so far, then "seqlab: interrupted" as before
        _print_samples(pieces or [[start] for _ in range(args.num_samples)], written)
        raise
    _print_samples(pieces or [[start] for _ in range(args.num_samples)], written)  # (--num-tokens 0: none)
    return 0


# Generated tokens between two writes of one sample to stdout: the ids reach the host (one sync) once
# per STREAM_EVERY steps, not at each token, and a Ctrl-C keeps what was shown
STREAM_EVERY = 128


def _print_samples(pieces: list[list[str]], written: int) -> None:
    """The samples' text: one sample's pieces not yet written, then its line end; several, each after
    its "--- sample i ---" line."""
    if len(pieces) == 1:
        print("".join(pieces[0][written:]), flush=True)
        return
    for i, said in enumerate(pieces):
        print(f"--- sample {i + 1} ---")
        print("".join(said))
    sys.stdout.flush()


class _Text:
    """A sample's tokens as text, a piece at a time: characters joined; words as word_text writes them
    (spaces between words, each <eos> a line break), so that the pieces of any split of the tokens read
    as word_text of them all."""

    def __init__(self, level: str):
        self.level, self.last = level, None

    def add(self, tokens) -> str:
        if self.level == "char":
            return "".join(map(str, tokens))
        from seqlab.data.corpora import EOS

        out = []
        for token in map(str, tokens):
            if token != EOS and self.last is not None and self.last != EOS:
                out.append(" ")  # a word after a word (one after a line break starts its line)
            out.append("\n" if token == EOS else token)
            self.last = token
        return "".join(out)


def word_text(tokens) -> str:
    """Word-level tokens as text: words joined by spaces, each <eos> (a line end in the corpus) a
    line break. (String replaces of " <eos> " left a literal <eos> in a run of three.) `_Text`'s
    one piece: the streamed pieces of a sample read as this."""
    return _Text("word").add(tokens)


def evaluate(args: argparse.Namespace, ckpt) -> dict:
    """Perplexity of a checkpoint on a held-out split of its run's corpus, or on a text file
    (--data, read as the run's training text was), every token after the first predicted."""
    from seqlab.cli import eval_batch_size, pick_split
    from seqlab.data.vocab import Vocab
    from seqlab.runtime import resolve_device
    from seqlab.training.checkpoint import bad_checkpoint
    from seqlab.training.lm import load_corpus, model_from_checkpoint, unk_warning
    from seqlab.training.lm_eval import evaluate_lm
    from seqlab.training.lm_data import read_scored_text
    from seqlab.training.metrics import perplexity

    device = resolve_device(getattr(args, "device", "auto"))
    net, cfg = model_from_checkpoint(ckpt, device)
    vocab = Vocab.from_dict(ckpt.meta["vocab"])
    data = getattr(args, "data", None)
    record = ckpt.meta.get("metrics")
    train_unk = record.get("train_unk_rate") if isinstance(record, dict) else None  # (older checkpoints: none)
    if data is not None:
        scored = read_scored_text(data, cfg, vocab, train_unk)
        stream, unk_rate, warnings = scored.stream, scored.unk_rate, scored.warnings
        split, where = "data", {"data": data}
    else:
        # the training split's <unk> share is the run's record: its own file need not be read (older runs: it is)
        corpus = load_corpus(cfg, vocab=vocab, source=ckpt.meta.get("data_file"), run_folder=ckpt.path.parent,
                             held_out_only=train_unk is not None)
        # Time Machine, Tiny Shakespeare, --data files: the held-out 10% (valid) is the only held-out split;
        # PTB, WikiText-2 and a --data folder with a test.txt have a test split (the default)
        have = [s for s in ("valid", "test") if getattr(corpus, s) is not None]
        split = pick_split(getattr(args, "split", None), have, f"this run's corpus ({corpus.name})")
        stream, unk_rate, where = corpus.split(split), corpus.unk_rate(split), {}
        warnings = [w for w in (unk_warning(corpus, split, train_share=train_unk),) if w]
    batch_size = eval_batch_size(args, ckpt, cfg.train.eval_batch_size)
    if cfg.train.num_steps < 1:  # from the checkpoint, whose metadata may be edited
        raise bad_checkpoint(ckpt, f"its config's num_steps is {cfg.train.num_steps}, not a positive integer")
    loss_sum, n = evaluate_lm(net, stream, batch_size, cfg.train.num_steps, device)
    for warning in warnings:  # (stderr: stdout is the JSON)
        print(f"seqlab: warning: {warning}", file=sys.stderr)
    return {"split": split, **where, "ppl": perplexity(loss_sum, n), "loss": loss_sum / n, "tokens": n,
            "unk_rate": round(unk_rate, 6), "epoch": ckpt.meta.get("epoch"), "checkpoint": str(Path(ckpt.path))}
