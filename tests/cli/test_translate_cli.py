"""`seqlab train translate`, `seqlab translate`, `seqlab evaluate` on a tiny pair file, and bad input."""

import json
import math

import pytest

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint, save_checkpoint

from checkpoint_edit import edit_meta  # tests/reliability, on the test path

PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("I lost.", "J'ai perdu."),
         ("I'm home.", "Je suis chez moi."), ("He's calm.", "Il est calme."), ("Go now.", "Va maintenant !"),
         ("I'm calm.", "Je suis calme."), ("He's home.", "Il est chez lui."), ("I lost it.", "Je l'ai perdu.")]

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU



@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("nmt")
    pairs = root / "pairs.txt"
    pairs.write_text("\n".join(f"{a}\t{b}" for a, b in PAIRS * 6) + "\n", encoding="utf-8")
    out = root / "run"
    argv = ["train", "translate", "--data", str(pairs), "--num-steps", "6", "--attention", "--pack", "--embed", "8",
            "--hidden", "16", "--layers", "1", "--dropout", "0", "--batch-size", "16", "--epochs", "2", "--lr", "0.01",
            "--valid-frac", "0.2", "--test-frac", "0.2", "--min-freq", "1", "--device", "cpu", "--out", str(out)]
    assert main(argv) == 0
    return root, out, argv


def test_train_ends_with_one_json_line(tmp_path, capsys):
    # as `train lm` and `train classify` end (README: every trainer's results, scriptable)
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("\n".join(f"{a}\t{b}" for a, b in PAIRS * 6) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["train", "translate", "--data", str(pairs), "--num-steps", "6", "--embed", "4", "--hidden", "8",
                 "--layers", "1", "--batch-size", "16", "--epochs", "1", "--valid-frac", "0.2", "--test-frac", "0.2",
                 "--min-freq", "1", "--device", "cpu", "--out", str(tmp_path / "run")]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["epoch"] == 1 and last["valid_ppl"] > 1 and 0 <= last["valid_bleu"] <= 100 and last["wall_s"] > 0
    # the epoch that translate and evaluate use by default (--which best)
    assert last["best_epoch"] == 1 == load_checkpoint(tmp_path / "run", "best").meta["epoch"]


def test_train_writes_metrics_checkpoints_and_plot(run_dir):
    root, out, _ = run_dir
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    for key in ("epoch", "train_loss", "valid_loss", "tokens_per_sec", "lr", "wall_s", "valid_bleu"):
        assert key in records[-1]
    assert records[-1]["train_loss"] < records[0]["train_loss"] + 1.0
    ckpt = load_checkpoint(out, "last")
    assert ckpt.meta["task"] == "translate" and ckpt.meta["epoch"] == 2
    assert ckpt.meta["src_vocab"]["idx_to_token"][:4] == ["<unk>", "<pad>", "<bos>", "<eos>"]
    assert (out / "best.safetensors").is_file() and (out / "loss.png").is_file()


def test_resume_continues_from_last(run_dir, capsys):
    root, out, argv = run_dir
    argv = [a if a != "2" or i != argv.index("--epochs") + 1 else "3" for i, a in enumerate(argv)]
    assert main(argv + ["--resume"]) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[2]["wall_s"] > records[1]["wall_s"]  # the run's time goes on (it restarted from 0)
    assert "resuming" in capsys.readouterr().out


def test_a_resumed_run_ends_with_the_weights_and_optimiser_state_of_an_uninterrupted_one(tmp_path, capsys):
    # bit for bit, with dropout, attention, 2 layers and shuffled batches (the run the SIGKILL test
    # kills in the slow set: tests/reliability/test_kill_resume.py)
    import kill_resume as kr  # tests/reliability, on the test path

    fx = kr.make_fixtures(tmp_path / "fx")

    def run(out, epochs, *extra):
        args = kr.argv("translate", fx, out)
        args[args.index("--epochs") + 1] = str(epochs)
        assert main(args + list(extra)) == 0

    run(tmp_path / "ref", 3)
    run(tmp_path / "run", 1)
    run(tmp_path / "run", 3, "--resume")
    assert "resuming" in capsys.readouterr().out
    ref, resumed = kr.final_tensors(tmp_path / "ref"), kr.final_tensors(tmp_path / "run")
    assert kr.bitwise_equal(resumed, ref)
    run(tmp_path / "other", 3, "--seed", "4")  # the comparison can fail
    assert not kr.bitwise_equal(kr.final_tensors(tmp_path / "other"), ref)


def test_translate_prints_one_line_per_sentence(run_dir, capsys, tmp_path):
    _, out, _ = run_dir
    capsys.readouterr()
    assert main(["translate", "--checkpoint", str(out), "Go.", "I lost.", "--beam", "3", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    f = tmp_path / "in.txt"
    f.write_text("go .\n\nhi .\nrun !\n")
    assert main(["translate", "--checkpoint", str(out), "--file", str(f), "--max-len", "4", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # one output line per input line: the blank one gives a blank one (the output lines up with the input)
    assert len(lines) == 4 and lines[1] == "" and all(len(line.split()) <= 4 for line in lines)


def test_evaluate_prints_bleu_json(run_dir, capsys):
    _, out, _ = run_dir
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "test" and 0 <= result["bleu"] <= 100 and 0 <= result["bleu_beam4"] <= 100
    assert result["sentences"] > 0 and result["loss"] > 0 and result["output_tokens"] >= 0
    # tokens: the reference tokens loss and ppl average over, <eos> included (was the greedy output's
    # length: 0 next to a ppl when the model emitted only <eos>)
    assert result["tokens"] >= result["sentences"] and result["ppl"] == pytest.approx(math.exp(result["loss"]))


@pytest.mark.parametrize("extra, message", [
    (["--beam", "0", "go ."], "--beam must be at least 1"),
    (["--max-len", "0", "go ."], "--max-len must be at least 1"),
    (["  "], "empty sentence"),
    (["xyzzy plugh"], "unknown to the model's vocabulary"),
    (["go go go go go go go"], "num_steps"),
    ([], "nothing to translate"),
])
def test_translate_bad_input_exits_2(run_dir, capsys, monkeypatch, extra, message):
    import sys

    class Terminal:  # nothing piped in: no sentence is an error, not a wait for typed lines
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    _, out, _ = run_dir
    capsys.readouterr()
    assert main(["translate", "--checkpoint", str(out), "--device", "cpu", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_language_model_checkpoint_is_refused(run_dir, tmp_path, capsys):
    _, out, _ = run_dir
    ckpt = load_checkpoint(out)
    lm = tmp_path / "lm"
    save_checkpoint(lm / "best.safetensors", model=ckpt.model, meta={"task": "lm", "config": {}})
    capsys.readouterr()
    assert main(["translate", "--checkpoint", str(lm), "go ."]) == 2
    assert "holds a language model, not a translation model" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--num-steps", "1"], "num_steps must be at least 2"),
    (["--epochs", "0"], "--epochs must be positive"),
    (["--num-examples", "-3"], "--num-examples must be positive"),
    (["--data", "/nonexistent/pairs.txt"], "not found"),
    (["--dataset", "imdb"], "unknown translation dataset"),
])
def test_train_bad_input_exits_2(tmp_path, capsys, flags, message):
    assert main(["train", "translate", "--out", str(tmp_path / "o"), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("name", ["book", "attention", "attention_cpu"])
def test_shipped_configs_parse(name):
    from pathlib import Path

    from seqlab.cli.translate import TranslateConfig
    from seqlab.config import from_dict, load_toml

    cfg = from_dict(TranslateConfig, load_toml(Path(__file__).parents[2] / "configs" / f"fra_eng_{name}.toml"))
    assert cfg.data.dataset == "fra-eng" and cfg.model.attention == (name != "book")
    if name == "book":  # the book's 9.7 values
        assert (cfg.data.num_examples, cfg.data.num_steps, cfg.model.embed, cfg.model.hidden, cfg.model.layers,
                cfg.model.dropout, cfg.train.batch_size, cfg.train.epochs, cfg.train.lr) == \
            (600, 10, 32, 32, 2, 0.1, 64, 300, 0.005)


def test_translate_forwards_beam_alpha_and_max_len(run_dir, capsys, monkeypatch):
    import seqlab.generation.translate as gen

    seen, real = [], gen.decode
    monkeypatch.setattr(gen, "decode", lambda *a, **k: seen.append(k) or real(*a, **k))
    _, out, _ = run_dir
    assert main(["translate", "--checkpoint", str(out), "Go.", "--beam", "3", "--alpha", "0.3", "--max-len", "4",
                 "--device", "cpu"]) == 0
    assert (seen[0]["beam_size"], seen[0]["alpha"], seen[0]["max_len"]) == (3, 0.3, 4)


def test_evaluate_valid_split_and_beam_4(run_dir, capsys, monkeypatch):
    import seqlab.training.translate as tr
    from seqlab.data.translation_splits import load_translation

    calls, real = [], tr.bleu_on
    monkeypatch.setattr(tr, "bleu_on", lambda *a, **k: calls.append((k.get("beam_size", 1), a[1])) or real(*a, **k))
    root, out, _ = run_dir
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--split", "valid", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    splits = load_translation(data=str(root / "pairs.txt"), num_steps=6, valid_frac=0.2, test_frac=0.2,
                              min_freq=1).splits
    assert splits["valid"] != splits["test"]
    assert result["split"] == "valid" and result["sentences"] == len(splits["valid"])
    assert [pairs for _, pairs in calls] == [splits["valid"]] * 2  # scored on the valid pairs
    assert sorted(beam for beam, _ in calls) == [1, 4]  # "bleu" greedy, "bleu_beam4" with a beam of 4


def test_no_fast_turns_the_decoders_fused_output_loss_off(run_dir, tmp_path, monkeypatch):
    import seqlab.models.seq2seq as s2s

    real, made = s2s.build_seq2seq, []

    def spy(*args, **kwargs):
        model = real(*args, **kwargs)
        made.append(model.decoder.fused_loss)
        return model

    monkeypatch.setattr(s2s, "build_seq2seq", spy)
    _, out, argv = run_dir
    argv = [str(tmp_path / "x") if a == str(out) else a for a in argv]
    argv[argv.index("--epochs") + 1] = "1"
    assert main(argv) == 0
    assert main([*argv, "--no-fast", "--overwrite"]) == 0
    assert made == [True, False]


def test_evaluate_finds_the_pair_file_from_another_folder(run_dir, capsys, monkeypatch, tmp_path):
    # trained with a relative --data: evaluate from elsewhere read it relative to its own folder
    # ("not found"), and an edited file was evaluated without a word
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "pairs.txt").write_text("\n".join(f"{a}\t{b}" for a, b in PAIRS * 6) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "work")
    _, _, argv = run_dir
    out = tmp_path / "rel"
    argv = [("pairs.txt" if a.endswith("pairs.txt") else str(out) if a.endswith("run") else a) for a in argv]
    argv[argv.index("--epochs") + 1] = "1"
    assert main(argv) == 0
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["sentences"] > 0
    meta = load_checkpoint(out, "last").meta["data_file"]
    assert meta["path"] == str(tmp_path / "work" / "pairs.txt") and len(meta["sha256"]) == 64
    with open(tmp_path / "work" / "pairs.txt", "a", encoding="utf-8") as fh:
        fh.write("new .\tnouveau .\n")
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cpu"]) == 2
    assert "has changed since the run was trained" in capsys.readouterr().err


def test_a_run_trained_before_the_pair_token_change_resumes_and_evaluates_as_trained(tmp_path, capsys, monkeypatch):
    # --data files now drop '' tokens (a double space) and read <eos> written as a word as <unk>; a run
    # trained before (no "pair_tokens" in its checkpoints) resumed with a smaller vocabulary ("corrupted:
    # size mismatch") and was evaluated on another test split, without a word
    from seqlab.data import translation_splits

    pairs = tmp_path / "pairs.txt"
    pairs.write_text("".join(f"{a.replace(' ', '  ')} <eos>\t{b}\n" for a, b in PAIRS * 6), encoding="utf-8")
    out = tmp_path / "run"
    argv = ["train", "translate", "--data", str(pairs), "--num-steps", "8", "--embed", "8", "--hidden", "8",
            "--layers", "1", "--batch-size", "16", "--epochs", "1", "--valid-frac", "0.2", "--test-frac", "0.2",
            "--min-freq", "1", "--bleu-every", "0", "--device", "cpu", "--out", str(out)]
    old_load = translation_splits.load_translation
    monkeypatch.setattr(translation_splits, "load_translation",
                        lambda **kw: old_load(**{**kw, "legacy_tokens": True}))
    assert main(argv) == 0  # as trained before: the file's own tokens ('' and <eos> among them)
    monkeypatch.undo()
    for name in ("last.safetensors", "best.safetensors"):  # and no marker, as then
        edit_meta(out / name, lambda meta: meta.pop("pair_tokens", None))
    old_vocab = load_checkpoint(out, "last").meta["src_vocab"]
    assert "" in old_vocab["idx_to_token"]
    capsys.readouterr()
    assert main(argv[:argv.index("--epochs")] + ["--epochs", "2", "--resume"] + argv[argv.index("--epochs") + 2:]) == 0
    resumed = load_checkpoint(out, "last").meta
    assert resumed["epoch"] == 2 and resumed["src_vocab"] == old_vocab and "pair_tokens" not in resumed
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["sentences"] > 0
