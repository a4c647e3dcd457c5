"""A --config file of one `seqlab train` task given to another names the task it is for, whichever
pair (a new-user review: lm given fra_eng_book.toml listed 47 keys after `num_examples`, translate
given sine_mlp_book.toml asked "another task?", classify given fra_eng_book.toml said dataset
'fra-eng' is not one of mnist); a near-miss key gets a did-you-mean instead of the key list."""

from pathlib import Path

import pytest

from seqlab.cli import main

ROOT = Path(__file__).parents[2]
TASKS = ("lm", "translate", "forecast", "classify")
# each shipped config's task, from the `seqlab train TASK` its header names (or its recipe's family)
FAMILY = {"fra_eng": "translate", "sine": "forecast", "mnist": "classify", "ptb": "lm", "wikitext2": "lm",
          "timemachine": "lm", "tinyshakespeare": "lm"}


def refused(argv, capsys, *fragments) -> str:
    """Run `seqlab argv`: exit code 2 and one `seqlab: error:` line holding each fragment."""
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("seqlab: error: ") and len(err.splitlines()) == 1, err
    for piece in fragments:
        assert piece in err, err
    return err


def _task(path: Path) -> str:
    return next(task for prefix, task in FAMILY.items() if path.name.startswith(prefix))


CASES = [(path, task) for path in sorted((ROOT / "configs").glob("*.toml")) for task in TASKS if task != _task(path)]


def test_every_shipped_config_has_a_known_family():
    header = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "configs").glob("*.toml")}
    assert len(header) >= 20
    for name, text in header.items():  # where a header names its command, it is the family's
        task = _task(ROOT / "configs" / name)
        for other in set(TASKS) - {task}:
            assert f"seqlab train {other} " not in text, name


@pytest.mark.parametrize("path,task", CASES, ids=[f"{p.stem}-to-{t}" for p, t in CASES])
def test_another_tasks_shipped_config_names_its_task(path, task, capsys, tmp_path):
    err = refused(["train", task, "--config", str(path), "--out", str(tmp_path / "run")], capsys,
                  f"{path} is a config for `seqlab train {_task(path)}` (its key")
    assert f"not for `seqlab train {task}`" in err and "known keys" not in err
    assert not (tmp_path / "run").exists()


def test_the_reviews_example_lists_the_keys_that_make_it_translates(capsys, tmp_path):
    path = ROOT / "configs" / "fra_eng_book.toml"
    refused(["train", "lm", "--config", str(path), "--out", str(tmp_path / "r")], capsys,
            f"{path} is a config for `seqlab train translate` (its keys attention, "
                     "num_examples are translate's)")


def test_one_key_of_another_task_in_a_files_own_task_is_named_as_that_tasks(capsys, tmp_path):
    cfg = tmp_path / "lm.toml"  # an lm config with a stray translate setting: it is still an lm config
    cfg.write_text('[data]\ndataset = "timemachine"\nnum_examples = 600\n[model]\ncell = "gru"\nhidden = 8\n')
    refused(["train", "lm", "--config", str(cfg), "--out", str(tmp_path / "r")], capsys,
            f"config key 'num_examples' in {cfg} is a setting of `seqlab train translate`, not of "
            "`seqlab train lm`: remove it")


@pytest.mark.parametrize("text,hint", [
    ("[model]\nhiden = 64\n", "unknown key 'hiden' in config file {cfg}: did you mean 'hidden'?"),
    ("epoch = 2\n", "did you mean 'epochs'?"),
    ("[train]\nbatch-size = 8\n", "did you mean 'batch_size'?"),  # (spelled as the flag)
])
def test_a_near_miss_key_gets_a_did_you_mean_not_the_key_list(text, hint, capsys, tmp_path):
    cfg = tmp_path / "typo.toml"
    cfg.write_text(text)
    err = refused(["train", "lm", "--config", str(cfg), "--out", str(tmp_path / "r")], capsys, hint.format(cfg=cfg))
    assert "known keys" not in err and "keys of [" not in err


def test_a_key_near_nothing_lists_its_sections_keys_or_all_at_the_top(capsys, tmp_path):
    cfg = tmp_path / "bogus.toml"
    cfg.write_text("[model]\nzzz = 1\n")
    err = refused(["train", "forecast", "--config", str(cfg), "--out", str(tmp_path / "r")], capsys,
                  "unknown key 'zzz' in config file", "the keys of [model] are: hidden, layers, model")
    assert "epochs" not in err  # ([train]'s)
    cfg.write_text("zzz = 1\n")
    refused(["train", "forecast", "--config", str(cfg), "--out", str(tmp_path / "r")], capsys, "known keys: ")
