"""One definition of the share of words read as <unk>: the training log's train/valid shares and
`seqlab evaluate`'s src_unk_rate / tgt_unk_rate are over the same words (each side cut to num_steps,
as the model reads and is scored on them), so on the same split they are equal. The pairs are longer
than num_steps, with rare words past the cut, so that a share over whole pairs differs; and both read
a source word in the vocabulary's Unicode normal form, so that on text typed decomposed (NFD) too."""

import json
import re
import unicodedata

import pytest

from seqlab.cli import main
from seqlab.data.translation_splits import (load_translation, read_pairs, sources_in_vocab_form, split_pairs,
                                            unk_counts, unk_shares)

# 4 of the 6 source words are read at num_steps 4 ("go now home w{i}"); w{i}, there{i}, mot{i}, la{i}
# occur once each, so min_freq 2 makes them <unk>: the words past the cut (there{i}, la{i}) raise a
# whole-pair share above the read one. Short pairs, never cut, are mixed in.
LONG = [(f"Go now home w{i} there{i}.", f"Va vite chez mot{i} la{i} !") for i in range(16)]
SHORT = [("Go.", "Va !"), ("Go now.", "Va vite !"), ("Go home.", "Va chez toi !")] * 4
SPLIT = dict(num_steps=4, valid_frac=0.3, test_frac=0.0, min_freq=2)

pytestmark = pytest.mark.usefixtures("one_thread")


def _whole_pair_shares(pairs, src_vocab, tgt_vocab):
    """The training log's old definition: every word of the pairs, none cut."""
    def share(lines, vocab):
        words = [w for line in lines for w in line]
        return sum(w not in vocab for w in words) / len(words)
    return share([p[0] for p in pairs], src_vocab), share([p[1] for p in pairs], tgt_vocab)


def test_unk_counts_cut_each_side_to_num_steps():
    from seqlab.data.vocab import Vocab

    src = Vocab(["go", "go", "now", "now"], min_freq=2, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    tgt = Vocab(["va", "va"], min_freq=2, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    pairs = [(["go", "x", "now", "y", "z"], ["va", "a", "b"]), (["go"], ["<unk>", "va"])]
    # num_steps 3: source "go x now" + "go" (x unknown), target "va a b" + "<unk> va" (a, b, and a written <unk>)
    assert unk_counts(pairs, src, tgt, 3) == {"src_words": 4, "src_unk": 1, "tgt_words": 5, "tgt_unk": 3}
    # num_steps 10: nothing cut: y, z join x
    assert unk_counts(pairs, src, tgt, 10) == {"src_words": 6, "src_unk": 3, "tgt_words": 5, "tgt_unk": 3}
    assert unk_shares(pairs, src, tgt, 3) == (1 / 4, 3 / 5)
    assert unk_shares([], src, tgt, 3) == (0.0, 0.0)


def _train(tmp_path, capsys, lines, num_steps) -> tuple:
    """(pair file, run folder, the training log's <unk> shares per split as printed) of a 1-epoch run."""
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("".join(f"{a}\t{b}\n" for a, b in lines), encoding="utf-8")
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(["train", "translate", "--data", str(pairs), "--num-steps", str(num_steps), "--embed", "4",
                 "--hidden", "4", "--layers", "1", "--dropout", "0", "--batch-size", "16", "--epochs", "1",
                 "--valid-frac", "0.3", "--test-frac", "0", "--min-freq", "2", "--bleu-every", "0",
                 "--device", "cpu", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    log = captured.out + captured.err  # (many <unk>: a warning, on stderr)
    said = re.search(r"train source ([\d.]+)% target ([\d.]+)%, valid source ([\d.]+)% target ([\d.]+)%", log)
    assert said, log
    return pairs, out, {"train": said.group(1, 2), "valid": said.group(3, 4)}


def _evaluated(tmp_path, capsys, out, split, pieces) -> tuple[float, float]:
    """`seqlab evaluate`'s (src_unk_rate, tgt_unk_rate) on `split`: the held-out split by name, the
    training split as a file of its tokens (read as training reads it)."""
    if split == "valid":
        where = ["--split", "valid"]
    else:
        tokens = tmp_path / "train_tokens.txt"
        tokens.write_text("".join(f"{' '.join(s)}\t{' '.join(t)}\n" for s, t in pieces), encoding="utf-8")
        where = ["--data", str(tokens)]
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cpu", *where]) == 0
    got = json.loads(capsys.readouterr().out)
    return got["src_unk_rate"], got["tgt_unk_rate"]


def _percent(shares) -> tuple[str, ...]:
    return tuple(f"{100 * r:.1f}" for r in shares)


def test_the_training_log_and_evaluate_give_the_same_unk_shares(tmp_path, capsys):
    pairs, out, logged = _train(tmp_path, capsys, LONG + SHORT, 4)
    data = load_translation(data=pairs, **SPLIT)
    for split in ("train", "valid"):
        pieces = data.splits[split]
        assert any(len(s) > 4 for s, _ in pieces) and any(len(s) < 4 for s, _ in pieces)  # cut and uncut pairs
        read = unk_shares(pieces, data.src_vocab, data.tgt_vocab, 4)
        whole = _whole_pair_shares(pieces, data.src_vocab, data.tgt_vocab)
        # the old definitions disagreed here: the words past num_steps count in `whole` only
        assert all(f"{100 * w:.1f}" != f"{100 * r:.1f}" for w, r in zip(whole, read))
        assert logged[split] == _percent(read)
        got = _evaluated(tmp_path, capsys, out, split, pieces)
        assert got == pytest.approx(read, abs=1e-6)
        assert _percent(got) == logged[split]


# French typed composed (NFC), as most text is, and each accented word once more typed decomposed
# (NFD: "e" + U+0301, as macOS and some editors write it). Each decomposed form occurs once, so the
# vocabulary (min_freq 2) holds only the composed ones: as written, the decomposed word is <unk>;
# `seqlab evaluate` reads it in the vocabulary's form (`in_vocab_form`), a known word.
ACCENTED = {"désolé": "sorry", "été": "summer", "café": "coffee", "thé": "tea", "élève": "pupil",
            "très": "very", "déjà": "already", "où": "where"}
FRAMES = {"ici": "here", "maintenant": "now", "aussi": "too", "encore": "again", "demain": "tomorrow"}
COMPOSED = [(f"{fr} {w}.", f"{en} {e}.") for fr, en in ACCENTED.items() for w, e in FRAMES.items()]
DECOMPOSED = [(unicodedata.normalize("NFD", f"{fr} ici."), f"{en} here.") for fr, en in ACCENTED.items()]


def test_on_decomposed_text_the_training_log_reads_sources_as_evaluate_does(tmp_path, capsys):
    pairs, out, logged = _train(tmp_path, capsys, COMPOSED + DECOMPOSED, 5)
    data = load_translation(data=pairs, num_steps=5, valid_frac=0.3, test_frac=0.0, min_freq=2)
    assert all(unicodedata.normalize("NFC", fr) in data.src_vocab for fr in ACCENTED)
    written = split_pairs(*read_pairs(pairs), 0.3, 0.0, 0)  # the splits as typed
    for split in ("train", "valid"):
        typed = written[split]
        decomposed = sum(unicodedata.is_normalized("NFD", s[0]) and not s[0].isascii() for s, _ in typed)
        words = sum(len(s) for s, _ in typed)  # (none is cut at num_steps 5)
        assert decomposed > 0 and words == 3 * len(typed)
        # as typed, each decomposed word is <unk> (the log's share before); the splits training reads
        # hold each source as evaluate reads it, where none is
        assert unk_shares(typed, data.src_vocab, data.tgt_vocab, 5) == (decomposed / words, 0.0)
        assert data.splits[split] == sources_in_vocab_form(typed, data.src_vocab)
        read = unk_shares(data.splits[split], data.src_vocab, data.tgt_vocab, 5)
        assert read == (0.0, 0.0)
        assert logged[split] == _percent(read) == ("0.0", "0.0")
        got = _evaluated(tmp_path, capsys, out, split, typed)
        assert got == pytest.approx(read, abs=1e-6)
        assert _percent(got) == logged[split]
