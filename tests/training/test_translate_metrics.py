"""What `train translate` and `evaluate` report: the valid-BLEU subset, pairs cut to num_steps,
the best epoch, and what the BLEU figure is (its signature, and sacrebleu's equal figure)."""

import json

import pytest

import seqlab.training.translate as tr
from seqlab.cli import main
from seqlab.cli.translate import TranslateConfig
from seqlab.config import replace
from seqlab.data.translation_splits import cut_counts, load_translation
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.translate import spread_subset

pytestmark = pytest.mark.usefixtures("one_thread")


def _sorted_pairs(path, n=60):
    # sorted by length, as fra.txt and Tatoeba's exports are: source i has 1 + i // 6 words
    path.write_text("".join(f"{' '.join(f'w{j}' for j in range(1 + i // 6))} s{i} .\tv{i} y !\n"
                            for i in range(n)), encoding="utf-8")
    return path


def _cfg(tmp_path, pairs, **kw):
    base = dict(data=str(pairs), num_steps=6, embed=4, hidden=4, layers=1, dropout=0.0, epochs=1, batch_size=16,
                valid_frac=0.3, test_frac=0.2, min_freq=1, device="cpu", out=str(tmp_path / "run"))
    return replace(TranslateConfig(), **{**base, **kw})


def test_spread_subset_is_every_kth_and_all_when_fewer():
    pairs = list(range(10))
    assert spread_subset(pairs, 5) == [0, 2, 4, 6, 8]
    assert spread_subset(pairs, 3) == [0, 3, 6]
    assert spread_subset(pairs, 10) == spread_subset(pairs, 500) == pairs


def test_valid_bleu_scores_pairs_spread_over_the_valid_split_not_its_first(tmp_path, monkeypatch):
    # the first N valid pairs of a file sorted by length are its shortest: valid_bleu measured only those
    seen, logged, real = [], [], tr.bleu_on
    monkeypatch.setattr(tr, "bleu_on", lambda model, pairs, *a, **k: seen.append(pairs) or real(model, pairs, *a, **k))
    pairs = _sorted_pairs(tmp_path / "pairs.txt")
    tr.fit(_cfg(tmp_path, pairs, bleu_sentences=4), log=logged.append)
    valid = load_translation(data=str(pairs), num_steps=6, valid_frac=0.3, test_frac=0.2, min_freq=1).splits["valid"]
    assert len(valid) > 8 and seen == [spread_subset(valid, 4)]
    assert seen[0] != valid[:4] and seen[0][-1] in valid[len(valid) // 2:]
    assert any(line.startswith(f"valid BLEU (greedy) on 4 of the {len(valid)} valid pairs, one in every ")
               for line in logged), logged


def test_the_books_run_scores_all_its_valid_pairs_as_before(data_dir):
    # fewer valid pairs (44) than --bleu-sentences (500): the same pairs as the first 500, in order
    valid = load_translation(num_examples=600).splits["valid"]
    assert 0 < len(valid) < 500 and spread_subset(valid, 500) == valid[:500]


def test_fit_logs_and_keeps_how_many_pairs_num_steps_cuts(tmp_path):
    logged = []
    pairs = _sorted_pairs(tmp_path / "pairs.txt")
    tr.fit(_cfg(tmp_path, pairs, num_steps=4, bleu_every=0), log=logged.append)
    train = load_translation(data=str(pairs), num_steps=4, valid_frac=0.3, test_frac=0.2, min_freq=1).splits["train"]
    counts = cut_counts(train, 4)
    assert 0 < counts["source"] < counts["pairs"] and counts["target"] == 0
    assert load_checkpoint(tmp_path / "run", "last").meta["cut_pairs"] == {"train": counts}
    share = f"source {counts['source']:,} ({100 * counts['source'] / counts['pairs']:.1f}%)"
    line = next(line for line in logged if "longer than num_steps-1 = 3 tokens" in line)
    assert share in line and f"--num-steps {counts['fits_99']} would cut at most 1%" in line
    assert counts["fits_99"] > 4
    logged.clear()
    tr.fit(_cfg(tmp_path, pairs, num_steps=20, bleu_every=0, overwrite=True), log=logged.append)
    assert "no training pair is longer than num_steps-1 = 19 tokens: none is cut" in logged


def test_fit_returns_the_best_epoch_and_a_resumed_run_keeps_it(tmp_path, monkeypatch):
    import seqlab.training.checkpoint_resume as checkpoint_resume

    script = iter([3.0, 1.0, 2.0, 5.0, 4.0])  # held-out loss per token, epoch by epoch
    monkeypatch.setattr(tr, "evaluate_loss", lambda *a, **k: {"loss_sum": 10 * next(script), "tokens": 10})
    pairs = _sorted_pairs(tmp_path / "pairs.txt")
    record = tr.fit(_cfg(tmp_path, pairs, epochs=3, bleu_every=0), log=lambda *a: None)
    assert record["best_epoch"] == 2 == load_checkpoint(tmp_path / "run", "best").meta["epoch"]
    assert load_checkpoint(tmp_path / "run", "last").meta["best_epoch"] == 2
    assert tr.fit(_cfg(tmp_path, pairs, epochs=4, bleu_every=0, resume=True), log=lambda *a: None)["best_epoch"] == 2
    # a run saved before best_epoch was kept: found from its metrics
    real = checkpoint_resume.resume_checkpoint

    def older(*a, **k):
        ckpt = real(*a, **k)
        ckpt.meta.pop("best_epoch")
        return ckpt

    monkeypatch.setattr(checkpoint_resume, "resume_checkpoint", older)
    assert tr.fit(_cfg(tmp_path, pairs, epochs=5, bleu_every=0, resume=True), log=lambda *a: None)["best_epoch"] == 2


def test_bleu_sentences_must_be_positive(tmp_path):
    from seqlab.errors import SeqlabError

    with pytest.raises(SeqlabError, match="--bleu-sentences must be at least 1"):
        tr.fit(_cfg(tmp_path, _sorted_pairs(tmp_path / "pairs.txt"), bleu_sentences=0), log=lambda *a: None)


def test_evaluate_reports_cut_sources_distinct_sources_and_the_bleu_signature(tmp_path, capsys):
    pairs = _sorted_pairs(tmp_path / "pairs.txt")
    out = tmp_path / "run"
    assert main(["train", "translate", "--data", str(pairs), "--num-steps", "4", "--embed", "4", "--hidden", "4",
                 "--layers", "1", "--epochs", "1", "--valid-frac", "0.3", "--test-frac", "0.2", "--min-freq", "1",
                 "--bleu-every", "0", "--device", "cpu", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    test = load_translation(data=str(pairs), num_steps=4, valid_frac=0.3, test_frac=0.2, min_freq=1).splits["test"]
    assert result["sentences"] == len(test) and result["distinct_sources"] == len({tuple(s) for s, _ in test})
    assert result["cut_sources"] == sum(len(s) >= 4 for s, _ in test) > 0
    assert result["bleu_signature"].startswith("nrefs:1|case:lc|eff:no|tok:d2l-9.5|smooth:exp|version:seqlab-")
    nrefs = tr.multi_ref_nrefs(test)
    assert result["bleu_multi_ref_signature"].startswith(f"nrefs:{nrefs}|case:lc|")
    assert 0 <= result["bleu_multi_ref"] <= 100 and 0 <= result["bleu_beam4_multi_ref"] <= 100


def test_multi_reference_bleu_scores_each_source_once_against_all_its_translations():
    # fra-eng's way: one source, several translations. Per pair, a right "va !" for "go ." is scored
    # wrong against "marche ." and "bouge !"; with every translation as a reference it is right.
    sacrebleu = pytest.importorskip("sacrebleu")
    pairs = [("go .", "va !"), ("i'm calm .", "je suis calme ."), ("go .", "marche ."), ("go .", "bouge !"),
             ("he's home .", "il est chez lui ."), ("i'm calm .", "je suis tranquille .")]
    pairs = [(s.split(), t.split()) for s, t in pairs]
    # the model translates equal sources alike: the hypotheses of a source's pairs are equal
    said = {"go .": "va !", "i'm calm .": "je suis tranquille .", "he's home .": "il est chez lui ."}
    hyps = [said[" ".join(s)].split() for s, _ in pairs]
    streams = [["va !", "je suis calme .", "il est chez lui ."], ["marche .", "je suis tranquille .", None],
               ["bouge !", None, None]]
    theirs = sacrebleu.corpus_bleu(["va !", "je suis tranquille .", "il est chez lui ."], streams, tokenize="none")
    assert tr.multi_ref_bleu(pairs, hyps) == pytest.approx(theirs.score, abs=1e-9) == pytest.approx(100.0)
    per_pair = sacrebleu.corpus_bleu([" ".join(h) for h in hyps], [[" ".join(t) for _, t in pairs]], tokenize="none")
    # per pair, 3 of the 6 right translations are scored against another translation: 73.56
    assert tr.corpus_bleu(hyps, [t for _, t in pairs]) == pytest.approx(per_pair.score, abs=1e-9)
    assert per_pair.score < 74


def test_the_bleu_evaluate_reports_is_sacrebleus_on_the_same_tokens():
    # what bleu_signature claims: sacrebleu's corpus BLEU, tokenize='none', lower-cased tokens, exp smoothing
    sacrebleu = pytest.importorskip("sacrebleu")
    from types import SimpleNamespace

    import torch

    from seqlab.data.translation import build_vocabs
    from seqlab.models.seq2seq import build_seq2seq
    from seqlab.training.translate import bleu_on, bleu_signature

    pairs = [("je suis calme .", "i'm calm ."), ("il est chez lui .", "he's home ."), ("va !", "go ."),
             ("je suis chez moi .", "i'm home ."), ("il est calme .", "he's calm .")]
    pairs = [(s.split(), t.split()) for s, t in pairs]
    src_vocab, tgt_vocab = build_vocabs([p[0] for p in pairs], [p[1] for p in pairs], min_freq=1)
    torch.manual_seed(0)
    model = build_seq2seq(len(src_vocab), len(tgt_vocab), embed=8, hidden=8, layers=1)
    data = SimpleNamespace(src_vocab=src_vocab, tgt_vocab=tgt_vocab, num_steps=6)
    # a scripted set of hypotheses (some right, some not) through bleu_on's scoring
    hyps = [["i'm", "calm", "."], ["he's", "home", "home", "."], ["go"], ["i'm", "home", "."], ["he's", "."]]
    ours = tr.corpus_bleu(hyps, [t for _, t in pairs])
    bleu = sacrebleu.metrics.BLEU(tokenize="none", lowercase=True)
    theirs = bleu.corpus_score([" ".join(h) for h in hyps], [[" ".join(t) for _, t in pairs]])
    assert ours == pytest.approx(theirs.score, abs=1e-9)
    model_hyps = bleu_on(model, pairs, data, device="cpu")
    theirs = bleu.corpus_score([" ".join(h) for h in model_hyps["hypotheses"]], [[" ".join(t) for _, t in pairs]])
    assert model_hyps["bleu"] == pytest.approx(theirs.score, abs=1e-9)
    mine = dict(field.split(":", 1) for field in bleu_signature().split("|"))
    sig = dict(field.split(":", 1) for field in str(bleu.get_signature()).split("|"))
    for key in ("nrefs", "case", "eff", "smooth"):
        assert mine[key] == sig[key], key


def test_evaluate_reads_decomposed_accents_as_the_vocabularys_form(tmp_path, capsys, monkeypatch):
    # a test file written in NFD against a model trained in NFC: every accented word was <unk>
    import unicodedata

    import seqlab.data.translation_splits as translation_splits

    pairs = tmp_path / "pairs.txt"
    pairs.write_text("".join(f"é{i % 7} ça{i % 5} où{i % 3} .\tv{i % 4} y !\n" for i in range(40)), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["train", "translate", "--data", str(pairs), "--num-steps", "6", "--embed", "4", "--hidden", "4",
                 "--layers", "1", "--epochs", "1", "--valid-frac", "0.2", "--test-frac", "0.2", "--min-freq", "1",
                 "--bleu-every", "0", "--device", "cpu", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cpu"]) == 0
    composed = json.loads(capsys.readouterr().out)
    real = translation_splits.load_translation

    def decomposed(**kw):
        data = real(**kw)
        data.splits["test"] = [([unicodedata.normalize("NFD", w) for w in s], t) for s, t in data.splits["test"]]
        assert any(s != s0 for (s, _), (s0, _) in zip(data.splits["test"], real(**kw).splits["test"]))
        return data

    monkeypatch.setattr(translation_splits, "load_translation", decomposed)
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out) == composed


def test_training_logs_the_share_of_words_read_as_unk_and_warns_when_it_is_large(tmp_path, capsys):
    from types import SimpleNamespace

    from seqlab.data.translation_splits import unk_shares
    from seqlab.data.vocab import Vocab

    src, tgt = Vocab(["a", "b"], reserved_tokens=["<pad>"]), Vocab(["x"], reserved_tokens=["<pad>"])
    pairs = [(["a", "b", "c"], ["x", "y"]), (["a"], ["x", "x", "z", "x"])]
    assert unk_shares(pairs, src, tgt, 10) == (1 / 4, 2 / 6)  # 'c' of 4 source words; 'y', 'z' of 6 target words
    # over the words the arrays keep: at num_steps 2 each side's first two ('c' and 'z' are cut off)
    assert unk_shares(pairs, src, tgt, 2) == (0 / 3, 1 / 4)
    data = SimpleNamespace(src_vocab=src, tgt_vocab=tgt, num_steps=10,
                           splits={"train": pairs[:1] * 20, "valid": [(["a"], ["x"])]})
    assert tr.unk_note(data).startswith("warning: many words are read as <unk> (train source 33.3% target 50.0%")
    data.splits["train"] = [(["a", "b"], ["x"])]
    assert tr.unk_note(data) == ("words read as <unk>: train source 0.0% target 0.0%, valid source 0.0% "
                                 "target 0.0%")
    # few in training, many held out: the advice is more text (and --min-freq 2 when training has none);
    # lowering --min-freq, the advice above, would not clear it (it said so for the book's run at min_freq 1)
    data.splits["valid"] = [(["a", "q"], ["x", "r"])]
    note = tr.unk_note(data)
    assert note.startswith("warning: many held-out words are not in the training vocabulary (train source 0.0%")
    assert "--min-freq 2" in note and "lower --min-freq" not in note
    logs = []  # the run warns (min_freq 1: every training word kept; each valid pair has its own words)
    capsys.readouterr()
    tr.fit(_cfg(tmp_path, _sorted_pairs(tmp_path / "pairs.txt")), log=logs.append)
    # valid: 18 pairs, 99 source words read at num_steps 6 (3+4+4+5+5+6+6+6, then ten cut to 6), of which
    # s{i} is <unk> in the 9 whose s{i} is among the first 6 (lengths <= 7); v{i} of the 3 target words
    # on stderr, as every warning (it was a line of the log, on stdout)
    assert ("seqlab: warning: many held-out words are not in the training vocabulary (train source 0.0% target "
            "0.0%, valid source 9.1% target 33.3%)") in capsys.readouterr().err
    assert not any("<unk>" in line for line in logs)


def test_sources_equal_in_nfc_are_one_group_and_nrefs_says_how_many_references():
    import unicodedata

    nfc, nfd = "désolé", unicodedata.normalize("NFD", "désolé")
    assert nfc != nfd
    pairs = [(["tom", "est", nfc, "."], ["tom", "is", "sorry", "."]), (["go", "."], ["va", "!"]),
             (["tom", "est", nfd, "."], ["tom", "is", "sad", "."]), (["go", "."], ["marche", "."])]
    assert tr.source_groups(pairs) == [[0, 2], [1, 3]]
    assert tr.multi_ref_nrefs(pairs) == "2" and tr.multi_ref_nrefs(pairs + [(["hi", "."], ["salut", "."])]) == "var"
    hyps = [["tom", "is", "sad", "."], ["va", "!"], ["tom", "is", "sad", "."], ["va", "!"]]
    assert tr.multi_ref_bleu(pairs, hyps) == pytest.approx(100.0)


def test_every_row_has_valid_bleu_null_where_bleu_every_skips_it_and_how_many_pairs_it_scored(tmp_path, capsys):
    # SPEC §12: every metrics.jsonl row has valid_bleu; --bleu-every 2 over 3 epochs scores epochs 2 and 3
    # (the last), and epoch 1's row says null rather than leaving the key out
    pairs = _sorted_pairs(tmp_path / "pairs.txt")
    out = tmp_path / "run"
    common = ["train", "translate", "--data", str(pairs), "--num-steps", "6", "--embed", "4", "--hidden", "4",
              "--layers", "1", "--valid-frac", "0.3", "--test-frac", "0.2", "--min-freq", "1", "--device", "cpu"]
    assert main([*common, "--epochs", "3", "--bleu-every", "2", "--bleu-sentences", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    lines = (out / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert '"valid_bleu": null' in lines[0].replace('":null', '": null')
    assert [r["epoch"] for r in rows] == [1, 2, 3] and all("valid_bleu" in r for r in rows)
    assert rows[0]["valid_bleu"] is None and "valid_bleu_sentences" not in rows[0]
    assert all(0 <= r["valid_bleu"] <= 100 and r["valid_bleu_sentences"] == 4 for r in rows[1:])
    assert "epoch 1: train loss" in printed and "valid BLEU" not in printed.split("epoch 1:")[1].split("\n")[0]
    assert "valid BLEU" in printed.split("epoch 2:")[1].split("\n")[0]
    # fewer valid pairs than --bleu-sentences (default 500): all of them
    valid = load_translation(data=str(pairs), num_steps=6, valid_frac=0.3, test_frac=0.2, min_freq=1).splits["valid"]
    assert main([*common, "--epochs", "1", "--out", str(tmp_path / "all")]) == 0
    row = json.loads((tmp_path / "all" / "metrics.jsonl").read_text())
    assert row["valid_bleu_sentences"] == len(valid) == 18
