"""`seqlab evaluate` of a translate run, a mutation audit's gaps: the per-token loss and its
perplexity against a loss sum given by hand, and which sources count as cut (num_steps with its
<eos>), on a one-epoch run of a few pairs."""

import json
import math

import pytest

from seqlab.cli import main
from seqlab.training import translate

PAIRS = [("Go.", "Va !"), ("I lost.", "J'ai perdu."), ("I lost it.", "Je l'ai perdu."),
         ("He's calm now.", "Il est calme."), ("I'm calm now.", "Je suis calme."), ("Go there now.", "Va !"),
         ("I lost it now.", "Je l'ai perdu.")]  # most sources of 4 words or more: cut at num_steps 4

pytestmark = pytest.mark.usefixtures("one_thread")


def _train(root, valid_frac: str, test_frac: str):
    """A one-epoch translator of PAIRS in root/run (its pairs file root/pairs.txt)."""
    pairs = root / "pairs.txt"
    pairs.write_text("".join(f"{a}\t{b}\n" for a, b in PAIRS * 3), encoding="utf-8")
    out = root / "run"
    assert main(["train", "translate", "--data", str(pairs), "--num-steps", "4", "--embed", "4", "--hidden", "8",
                 "--layers", "1", "--dropout", "0", "--batch-size", "8", "--epochs", "1", "--valid-frac", valid_frac,
                 "--test-frac", test_frac, "--bleu-every", "0", "--device", "cpu", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nmt_eval_audit3")
    return root, _train(root, "0.2", "0.2")


@pytest.mark.parametrize("loss_sum, tokens", [(12.0, 4), (3e6, 4)])  # 3 nats a token; then a diverged run's
def test_loss_is_the_mean_per_reference_token_and_ppl_its_exp(run, evaluate_cpu, monkeypatch, loss_sum, tokens):
    _, out = run
    monkeypatch.setattr(translate, "evaluate_loss", lambda *a, **k: {"loss_sum": loss_sum, "tokens": tokens})
    code, text, err = evaluate_cpu("--checkpoint", str(out))
    assert code == 0, err
    got = json.loads(text)
    assert got["tokens"] == tokens and got["loss"] == pytest.approx(loss_sum / tokens)
    assert got["output_tokens"] != tokens  # (the greedy translations' own length: another count)
    if loss_sum / tokens < 700:
        assert got["ppl"] == pytest.approx(math.exp(3.0))
    else:  # past exp's range: infinite, JSON null, as a language model's (it was exp(700), 1.01e304)
        assert got["ppl"] is None


def test_a_source_of_num_steps_words_is_cut_and_one_shorter_is_not(run, evaluate_cpu, tmp_path):
    # num_steps 4: a source is read with its <eos>, so 3 words fit and 4 words are cut
    _, out = run
    f = tmp_path / "pairs.txt"
    f.write_text("I lost it.\tJe l'ai perdu.\nI lost.\tJ'ai perdu.\n", encoding="utf-8")  # 4 words, 3 words
    code, text, err = evaluate_cpu("--checkpoint", str(out), "--data", str(f))
    assert code == 0 and json.loads(text)["cut_sources"] == 1
    assert "1 of the 2 sources are longer than the model reads (num_steps 4)" in err


def test_the_held_out_split_gets_no_note_of_its_cut_sources(run, evaluate_cpu):
    # the note is for the user's own file; a split's sources were cut alike in training
    _, out = run
    code, text, err = evaluate_cpu("--checkpoint", str(out), "--split", "test")
    assert code == 0 and "longer than the model reads" not in err
    assert json.loads(text)["cut_sources"] >= 1  # (so the split has some to note)


def test_a_source_given_twice_is_one_distinct_source_of_two_references(run, evaluate_cpu, tmp_path):
    _, out = run
    f = tmp_path / "pairs.txt"
    f.write_text("Go.\tVa !\nGo.\tAllez !\nI lost.\tJ'ai perdu.\nI lost.\tJe perds.\n", encoding="utf-8")
    code, text, _ = evaluate_cpu("--checkpoint", str(out), "--data", str(f))
    got = json.loads(text)
    assert code == 0 and got["sentences"] == 4 and got["distinct_sources"] == 2
    assert got["bleu_multi_ref_signature"].startswith("nrefs:2|") and got["bleu_signature"].startswith("nrefs:1|")


def test_beam_4s_multi_reference_bleu_scores_the_beams_translations(run, evaluate_cpu, monkeypatch, tmp_path):
    # greedy and beam 4 made to differ: each multi-reference figure is of its own decoder's translations
    _, out = run
    real = translate.bleu_on
    scored = []

    def bleu_on(*args, beam_size=1, **kwargs):
        got = real(*args, beam_size=beam_size, **kwargs)
        return {**got, "hypotheses": [["beam" if beam_size > 1 else "greedy"]] * len(got["hypotheses"])}

    monkeypatch.setattr(translate, "bleu_on", bleu_on)
    monkeypatch.setattr(translate, "multi_ref_bleu", lambda pairs, hyps: scored.append(hyps[0][0]) or len(scored))
    code, text, _ = evaluate_cpu("--checkpoint", str(out))
    got = json.loads(text)
    assert code == 0 and scored == ["greedy", "beam"]
    assert (got["bleu_multi_ref"], got["bleu_beam4_multi_ref"]) == (1, 2)


def test_a_run_without_a_test_split_is_scored_on_valid_and_refuses_split_test(tmp_path, evaluate_cpu):
    # --test-frac 0: evaluate's default (test) falls back to the valid split, and --split test names the fraction
    out = _train(tmp_path, "0.3", "0")
    code, text, err = evaluate_cpu("--checkpoint", str(out))
    assert code == 0 and json.loads(text)["split"] == "valid", err
    code, _, err = evaluate_cpu("--checkpoint", str(out), "--split", "test")
    assert code == 2 and "this run has no test split (its test_frac = 0.0); its held-out split is valid: use " \
        "--split valid or leave --split out" in err
