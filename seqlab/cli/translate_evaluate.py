"""`seqlab evaluate` for translate checkpoints: corpus BLEU, loss and the <unk> shares on the run's
held-out split or on a pair file of the user's (--data)."""

from __future__ import annotations

import argparse


def evaluate_translator(args: argparse.Namespace, ckpt) -> dict:
    """Corpus BLEU (greedy, and beam 4) and per-token loss on the held-out split, or on the pairs
    of --data FILE (`split` "data", and `data` the file).

    FILE is read as a --data file is read in training (the same preprocessing, and every line
    `source<TAB>target`), each pair in file order, with the run's vocabularies: a word they lack
    is <unk>. A source word the vocabulary holds in another Unicode normal form is read as that
    form (as `translate` reads it); a source longer than the model reads is cut as in training (the
    book's `truncate_pad`), and `cut_sources` counts them (a note on stderr says so for FILE).
    `src_unk_rate` and `tgt_unk_rate`: the shares of the source words the encoder reads and of the
    reference words the loss scores (cut to num_steps; `unk_counts`, the training log's definition,
    so on the same split they equal its shares) that are <unk>; over UNK_WARN (the training log's
    10%) a warning on stderr. A FILE whose every source word is <unk> is refused. `bleu_signature`
    says what the BLEU is (`bleu` greedy, `bleu_beam4` beam 4; one reference per pair, over
    `sentences`); `bleu_multi_ref` (and beam 4's) scores each of the `distinct_sources` once
    against all the translations its pairs give (`bleu_multi_ref_signature`)."""
    import sys

    from seqlab.data.translation import BOS, batches
    from seqlab.data.translation_splits import TranslationData, sources_in_vocab_form, unk_counts
    from seqlab.errors import SeqlabError
    from seqlab.runtime import resolve_device
    from seqlab.training.metrics import perplexity_of_mean
    from seqlab.training.translate import (bleu_on, bleu_signature, evaluate_loss, load_translator, multi_ref_bleu,
                                          multi_ref_nrefs, source_groups)
    from seqlab.training.translate_report import scored_unk_note

    device = resolve_device(args.device)
    model, vocabs = load_translator(ckpt, device)
    file = getattr(args, "data", None)
    if file is None:
        split, pairs = _held_out_pairs(args, ckpt)
    else:
        split, pairs = "data", _file_pairs(ckpt, file)
    pairs = sources_in_vocab_form(pairs, vocabs.src_vocab)
    data = TranslationData({split: pairs}, vocabs.src_vocab, vocabs.tgt_vocab, vocabs.num_steps)
    arrays = data.arrays(split)
    unk = unk_counts(pairs, data.src_vocab, data.tgt_vocab, data.num_steps)  # as the training log counts
    src_unk, tgt_unk = (unk[f"{s}_unk"] / max(unk[f"{s}_words"], 1) for s in ("src", "tgt"))
    if file is not None and unk["src_words"] and unk["src_unk"] == unk["src_words"]:
        raise SeqlabError(f"none of the {unk['src_words']:,} source words of {str(file)!r} is in the model's "
                          f"{len(data.src_vocab):,}-word source vocabulary (each would be <unk>, and its figures "
                          "would say nothing): give pairs whose source side is in the language the model "
                          "translates from")
    cut = sum(len(src) + 1 > data.num_steps for src, _ in pairs)
    notes = [scored_unk_note(src_unk, tgt_unk, f"the {split} split" if file is None else repr(str(file)))]
    notes = [f"seqlab: warning: {n}" for n in notes if n]
    if file is not None and cut:
        notes.append(f"seqlab: note: {cut:,} of the {len(pairs):,} sources are longer than the model reads "
                     f"(num_steps {data.num_steps}): cut as in training")
    bs = 256 if args.batch_size is None else args.batch_size
    loss = evaluate_loss(model, batches(arrays, bs), bos=data.tgt_vocab[BOS], device=device)
    greedy = bleu_on(model, pairs, data, device=device, batch_size=bs)
    beam = bleu_on(model, pairs, data, device=device, beam_size=4, batch_size=bs)
    for note in notes:  # (stderr: stdout is the JSON)
        print(note, file=sys.stderr)
    # `tokens`: the reference tokens (with <eos>) that loss and ppl average over; BLEU is a corpus
    # figure, and the greedy translations' own length is `output_tokens`
    mean = loss["loss_sum"] / loss["tokens"]
    return {"split": split, **({} if file is None else {"data": str(file)}),
            "bleu": greedy["bleu"], "bleu_beam4": beam["bleu"],
            "bleu_multi_ref": multi_ref_bleu(pairs, greedy["hypotheses"]),
            "bleu_beam4_multi_ref": multi_ref_bleu(pairs, beam["hypotheses"]), "tokens": loss["tokens"],
            "output_tokens": greedy["tokens"], "sentences": greedy["sentences"], "loss": mean,
            "ppl": perplexity_of_mean(mean), "epoch": ckpt.meta.get("epoch"),
            "distinct_sources": len(source_groups(pairs)), "cut_sources": cut,
            "src_unk_rate": round(src_unk, 6), "tgt_unk_rate": round(tgt_unk, 6),
            "bleu_signature": bleu_signature(), "bleu_multi_ref_signature": bleu_signature(multi_ref_nrefs(pairs))}


def _held_out_pairs(args: argparse.Namespace, ckpt) -> tuple[str, list]:
    """(split, pairs): the run's held-out split (--split, or pick_split's default), read from the
    run's data as it was trained (split, seed, tokens)."""
    from seqlab.cli import pick_split
    from seqlab.data.translation_splits import legacy_pair_tokens, load_translation
    from seqlab.data.user_files import run_data_file

    d = ckpt.meta["config"]["data"]
    path = run_data_file(d["data"], ckpt.meta.get("data_file"), ckpt.path.parent) if d["data"] is not None else None
    data = load_translation(dataset=d["dataset"], data=path, num_examples=d["num_examples"],
                            num_steps=d["num_steps"], valid_frac=d["valid_frac"], test_frac=d["test_frac"],
                            split_seed=d["split_seed"], min_freq=d["min_freq"], strict=False,
                            legacy_tokens=legacy_pair_tokens(ckpt.meta))
    have = [s for s in ("valid", "test") if data.splits[s]]
    empty = [f"{s}_frac = {d[s + '_frac']}" for s in ("valid", "test") if s not in have]
    split = pick_split(args.split, have, "this run", f" (its {' and '.join(empty)})" if empty else "")
    return split, data.splits[split]


def _file_pairs(ckpt, file) -> list:
    """Every pair of a user's `source<TAB>target` file, read as `train translate --data` reads one
    (a line that is not a pair is an error naming it); tokens as this run's own were read. (--data
    with --split is refused before: cli.evaluate.)"""
    from seqlab.data.translation_splits import legacy_pair_tokens, read_pairs

    source, target = read_pairs(file, legacy_tokens=legacy_pair_tokens(ckpt.meta))
    return list(zip(source, target))
