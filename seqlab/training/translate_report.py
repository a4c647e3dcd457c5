"""What a translation run reports besides its losses: what its BLEU figure is (and the
multi-reference one's), which validation pairs its per-epoch BLEU reads, and how much of the data
num_steps cuts and <unk> hides."""

from __future__ import annotations


def bleu_signature(nrefs: str = "1") -> str:
    """What `bleu_on`'s figure is, in sacrebleu's signature style: one reference per pair (a source
    with several translations is scored once per pair), lower-cased and tokenised by the book's
    preprocessing (9.5), then `corpus_bleu`, which equals sacrebleu's corpus BLEU with
    tokenize='none' on those tokens: exp smoothing, one brevity penalty for the corpus. With `nrefs`
    ("var", or a count): `multi_ref_bleu`'s figure, `corpus_bleu_multi` over each distinct source
    once, against all its translations."""
    from seqlab import __version__

    return f"nrefs:{nrefs}|case:lc|eff:no|tok:d2l-9.5|smooth:exp|version:seqlab-{__version__}"


def spread_subset(pairs: list, n: int) -> list:
    """At most `n` of `pairs`, spread evenly over them: pairs[i * len / n] for i < n (every
    (len / n)-th, from the first). All of them when there are n or fewer. A file sorted by length
    (fra.txt, and Tatoeba's exports) would give its shortest sentences as the first n."""
    if len(pairs) <= n:
        return list(pairs)
    return [pairs[i * len(pairs) // n] for i in range(n)]


def subset_note(chosen: int, total: int) -> str:
    """How `spread_subset` chose, for the log and the help."""
    if chosen >= total:
        return f"all {total:,} valid pairs"
    return f"{chosen:,} of the {total:,} valid pairs, one in every {total / chosen:.3g} (spread over the split)"


def cut_note(counts: dict, num_steps: int) -> str:
    """The log line of `cut_counts` for the training split."""
    n = max(counts["pairs"], 1)
    if not counts["either"]:
        return f"no training pair is longer than num_steps-1 = {num_steps - 1} tokens: none is cut"
    hint = (f"; --num-steps {counts['fits_99']} would cut at most 1%" if counts["fits_99"] > num_steps else "")
    return (f"training pairs longer than num_steps-1 = {num_steps - 1} tokens are cut to num_steps (their <eos> "
            f"dropped, as the book does): source {counts['source']:,} ({100 * counts['source'] / n:.1f}%), "
            f"target {counts['target']:,} ({100 * counts['target'] / n:.1f}%), either "
            f"{counts['either']:,} ({100 * counts['either'] / n:.1f}%){hint}")


UNK_WARN = 0.10  # a larger share of <unk> words on a side is warned about


def unk_note(data) -> str:
    """The log line of the shares of words read as <unk> (rarer than --min-freq in training, or
    not in it), training and validation, each side; a warning above UNK_WARN, whose advice fits
    the case: many <unk> in training (--min-freq keeps rare words out), or few in training but
    many held out (words training never had: more text; with none in training the model never
    learned <unk> either, which --min-freq 2 teaches it). The shares are `unk_shares`'s: over the
    words the model reads and is scored on (each side cut to num_steps), as `seqlab evaluate`'s
    src_unk_rate and tgt_unk_rate, which equal them on the same split."""
    from seqlab.data.translation_splits import unk_shares

    shares = {name: unk_shares(data.splits[name], data.src_vocab, data.tgt_vocab, data.num_steps)
              for name in ("train", "valid")}
    said = ", ".join(f"{name} source {100 * s:.1f}% target {100 * t:.1f}%" for name, (s, t) in shares.items())
    train, valid = max(shares["train"]), max(shares["valid"])
    if max(train, valid) <= UNK_WARN:
        return f"words read as <unk>: {said}"
    if train > UNK_WARN:
        return (f"warning: many words are read as <unk> ({said}): the model learns to write <unk> for them (the "
                "loss counts that as right; BLEU, against the real words, does not); train on more text, or "
                "lower --min-freq (1 keeps every training word)")
    never = (" and, with no <unk> in training, the model never learned where an unknown word goes (--min-freq 2 "
             "makes the words seen once <unk>, so that it does)") if train == 0 else ""
    return (f"warning: many held-out words are not in the training vocabulary ({said}): the model cannot "
            f"translate them{never}; more training text covers more of them")


def scored_unk_note(src_share: float, tgt_share: float, where: str) -> str | None:
    """`seqlab evaluate`'s warning on the words of the scored pairs (`where`: the split, or a --data
    file) read as <unk>, when a side's share is over UNK_WARN (the training log's threshold), else
    None. Reference words read as <unk> make the loss easy (writing <unk> is counted as right); source
    words read as <unk> are words the model cannot translate."""
    if max(src_share, tgt_share) <= UNK_WARN:
        return None
    why = []
    if tgt_share > UNK_WARN:
        why.append("the loss and perplexity count writing <unk> for an unknown reference word as right, so they "
                   "flatter the model (BLEU, against the real words, does not)")
    if src_share > UNK_WARN:
        why.append("the model cannot translate the source words it reads as <unk>")
    return (f"many words of {where} are read as <unk> (outside the run's vocabularies: source {100 * src_share:.1f}%, "
            f"reference {100 * tgt_share:.1f}%): {'; '.join(why)}")


def multi_ref_bleu(pairs, hypotheses) -> float:
    """Corpus BLEU with every translation of a source as its references: one hypothesis per distinct
    source (its first pair's: the model translates equal sources alike) against all the targets
    its pairs give. fra-eng gives many sources several translations ("go ." -> "va !", "marche .",
    "bouge !"); one reference per pair scores a right translation against the others as wrong."""
    from seqlab.training.bleu import corpus_bleu_multi

    groups = source_groups(pairs)
    return corpus_bleu_multi([hypotheses[g[0]] for g in groups], [[pairs[i][1] for i in g] for g in groups])


def source_groups(pairs) -> list[list[int]]:
    """The indices of `pairs` grouped by source sentence, in first-seen order; sources equal in
    Unicode's NFC form are one group (the same sentence typed two ways)."""
    import unicodedata

    groups: dict[tuple, list[int]] = {}
    for i, (src, _) in enumerate(pairs):
        groups.setdefault(tuple(unicodedata.normalize("NFC", w) for w in src), []).append(i)
    return list(groups.values())


def multi_ref_nrefs(pairs) -> str:
    """sacrebleu's `nrefs` of `multi_ref_bleu` on `pairs`: the number of references each source
    has when all have the same, else "var"."""
    counts = {len(g) for g in source_groups(pairs)}
    return str(counts.pop()) if len(counts) == 1 else "var"
