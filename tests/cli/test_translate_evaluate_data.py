"""`seqlab evaluate --data PAIRS.txt` for translate checkpoints: the user's own pair file, read as a
training --data file is, scored with the run's vocabularies; and its errors."""

import json

import pytest

from seqlab.cli import main
from seqlab.data.translation_splits import load_translation, read_pairs, unk_shares
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.translate import load_translator

# raw text, as a user writes it: capitals, no space before the punctuation; some words once only
PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("I lost.", "J'ai perdu."),
         ("I'm home.", "Je suis chez moi."), ("He's calm.", "Il est calme."), ("Go now.", "Va maintenant !"),
         ("I'm calm.", "Je suis calme."), ("He's home.", "Il est chez lui."), ("I lost it.", "Je l'ai perdu."),
         ("Be nice.", "Sois gentil !"), ("Wait here.", "Attends ici."), ("I'm sorry.", "Je suis désolé."),
         ("She ran.", "Elle a couru."), ("We won.", "Nous avons gagné."), ("Help me.", "Aide-moi.")]
SPLIT = dict(num_steps=6, valid_frac=0.15, test_frac=0.3, min_freq=2)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nmt_eval_data")
    pairs = root / "pairs.txt"
    # each pair twice (min_freq 2 keeps a word of one training sentence), a few more copies of some
    pairs.write_text("".join(f"{a}\t{b}\n" for a, b in PAIRS * 2 + PAIRS[:6] * 3), encoding="utf-8")
    out = root / "run"
    assert main(["train", "translate", "--data", str(pairs), "--num-steps", "6", "--embed", "8", "--hidden", "16",
                 "--layers", "1", "--dropout", "0", "--batch-size", "16", "--epochs", "3", "--lr", "0.02",
                 "--valid-frac", "0.15", "--test-frac", "0.3", "--min-freq", "2", "--bleu-every", "0",
                 "--device", "cpu", "--out", str(out)]) == 0
    return root, out


def test_a_file_of_the_test_splits_pairs_scores_as_the_test_split(run, evaluate_cpu, tmp_path):
    root, out = run
    test = load_translation(data=root / "pairs.txt", **SPLIT).splits["test"]
    _, vocabs = load_translator(load_checkpoint(out), "cpu")
    src_unk, tgt_unk = unk_shares(test, vocabs.src_vocab, vocabs.tgt_vocab, 6)
    assert len(test) >= 4 and src_unk > 0 and tgt_unk > 0  # the run's vocabularies matter: <unk> both sides
    # the split's pairs as the user wrote them (raw: the file is preprocessed as training's is), then
    # as the tokens; a blank line is skipped, as in training
    every = tmp_path / "every.txt"
    every.write_text("".join(f"{a}\t{b}\n" for a, b in PAIRS), encoding="utf-8")
    by_tokens = {(tuple(s), tuple(t)): f"{a}\t{b}" for s, t, (a, b) in zip(*read_pairs(every), PAIRS)}
    raw_file, token_file = tmp_path / "raw.txt", tmp_path / "tokens.txt"
    raw_file.write_text("\n".join(by_tokens[(tuple(s), tuple(t))] for s, t in test) + "\n\n", encoding="utf-8")
    token_file.write_text("".join(f"{' '.join(s)}\t{' '.join(t)}\n" for s, t in test), encoding="utf-8")
    code, text, _ = evaluate_cpu("--checkpoint", str(out), "--split", "test")
    assert code == 0
    split = json.loads(text)
    for f in (raw_file, token_file):
        code, text, err = evaluate_cpu("--checkpoint", str(out), "--data", str(f))
        assert code == 0, err
        mine = json.loads(text)
        assert mine["split"] == "data" and mine["data"] == str(f) and split["split"] == "test"
        assert mine.keys() - {"data"} == split.keys()
        for key in ("bleu", "bleu_beam4", "tokens", "output_tokens", "sentences", "loss", "ppl", "distinct_sources",
                    "cut_sources", "src_unk_rate", "tgt_unk_rate", "epoch", "bleu_signature"):
            assert mine[key] == split[key], key
    assert split["sentences"] == len(test)  # every pair of the file, not a split of it


def test_a_file_of_all_pairs_is_scored_whole(run, evaluate_cpu):
    root, out = run
    code, text, _ = evaluate_cpu("--checkpoint", str(out), "--data", str(root / "pairs.txt"))
    assert code == 0 and json.loads(text)["sentences"] == len(PAIRS) * 2 + 6 * 3


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    ("go .\tva !\ngo now . va maintenant !\n", "line 2 has 1 tab-separated field, not 2"),
    ("go .\tva !\n\t\n", "line 2 has an empty source and target side"),
    ("a\tb\tc\n", "line 1 has 3 tab-separated fields, not 2"),
    ("", "is empty"),
    ("\n\n", "is empty"),
])
def test_a_file_that_is_not_a_pair_file_is_one_line_and_exit_2(run, evaluate_cpu, tmp_path, content, message):
    _, out = run
    f = tmp_path / "pairs.txt"
    if content is not None:
        f.write_text(content, encoding="utf-8")
    code, text, err = evaluate_cpu("--checkpoint", str(out), "--data", str(f))
    assert code == 2 and text == "" and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_data_with_split_is_refused(run, evaluate_cpu, tmp_path):
    root, out = run
    code, _, err = evaluate_cpu("--checkpoint", str(out), "--data", str(root / "pairs.txt"), "--split", "test")
    assert code == 2 and "--data" in err and err.count("\n") == 1


def test_evaluate_reports_the_unk_shares_of_the_words_it_scores(run, evaluate_cpu, tmp_path):
    root, out = run
    test = load_translation(data=root / "pairs.txt", **SPLIT).splits["test"]
    _, vocabs = load_translator(load_checkpoint(out), "cpu")
    src_unk, tgt_unk = unk_shares(test, vocabs.src_vocab, vocabs.tgt_vocab, 6)  # no test pair is cut at 6 steps
    assert max(src_unk, tgt_unk) > 0.1  # over the training log's threshold: warned
    code, text, err = evaluate_cpu("--checkpoint", str(out), "--split", "test")
    split = json.loads(text)
    assert code == 0 and split["cut_sources"] == 0
    assert split["src_unk_rate"] == pytest.approx(src_unk, abs=1e-6)
    assert split["tgt_unk_rate"] == pytest.approx(tgt_unk, abs=1e-6)
    assert err.startswith("seqlab: warning: many words of the test split are read as <unk>") and err.count("\n") == 1
    assert f"source {100 * src_unk:.1f}%, reference {100 * tgt_unk:.1f}%" in err
    # known source words, reference words the target vocabulary lacks: the loss is flattered, and said so
    f = tmp_path / "pairs.txt"
    f.write_text("Go.\tFoo bar baz.\n", encoding="utf-8")  # go . -> foo bar baz . (3 of 4 reference words)
    code, text, err = evaluate_cpu("--checkpoint", str(out), "--data", str(f))
    mine = json.loads(text)
    assert code == 0 and mine["src_unk_rate"] == 0 and mine["tgt_unk_rate"] == pytest.approx(3 / 4)
    assert f"many words of {str(f)!r} are read as <unk>" in err and "source 0.0%, reference 75.0%" in err
    assert "count writing <unk> for an unknown reference word as right" in err and err.count("\n") == 1
    # words of the vocabularies only: no warning
    f.write_text("Go.\tVa !\n", encoding="utf-8")
    code, text, err = evaluate_cpu("--checkpoint", str(out), "--data", str(f))
    assert code == 0 and json.loads(text)["src_unk_rate"] == json.loads(text)["tgt_unk_rate"] == 0 and err == ""


def test_a_file_of_unknown_source_words_is_refused(run, evaluate_cpu, tmp_path):
    _, out = run
    f = tmp_path / "pairs.txt"
    f.write_text("xyzzy plugh\tfoo bar\n", encoding="utf-8")
    code, text, err = evaluate_cpu("--checkpoint", str(out), "--data", str(f))
    assert code == 2 and text == "" and err.count("\n") == 1
    assert f"none of the 2 source words of {str(f)!r} is in the model's" in err


def test_sources_longer_than_the_model_reads_are_noted(run, evaluate_cpu, tmp_path):
    _, out = run
    f = tmp_path / "pairs.txt"
    f.write_text("I'm calm. I'm home. Go now.\tJe suis calme.\nGo.\tVa !\n", encoding="utf-8")  # 9 words > 5
    code, text, err = evaluate_cpu("--checkpoint", str(out), "--data", str(f))
    assert code == 0 and json.loads(text)["cut_sources"] == 1
    assert ("seqlab: note: 1 of the 2 sources are longer than the model reads (num_steps 6): cut as in "
            "training") in err
