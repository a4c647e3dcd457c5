"""Typed configs: defaults <- TOML <- flags, unknown keys and wrong types named."""

import argparse
import dataclasses
from typing import Literal

import pytest

from seqlab import SeqlabError
from seqlab.config import RunConfig, add_config_args, build_config, flat_dict, from_dict, replace


@dataclasses.dataclass
class Model:
    hidden: int = 256
    cell: Literal["rnn", "gru", "lstm"] = "lstm"
    dropout: float = 0.0
    tie_weights: bool = False
    max_tokens: int | None = None


@dataclasses.dataclass
class Task:
    model: Model = dataclasses.field(default_factory=Model)
    run: RunConfig = dataclasses.field(default_factory=RunConfig)
    lr: float = 1.0


def parse(argv):
    parser = argparse.ArgumentParser()
    add_config_args(parser, Task)
    return build_config(Task, parser.parse_args(argv))


def test_precedence_defaults_then_file_then_flags(tmp_path):
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('lr = 0.5\n[model]\nhidden = 64\ncell = "gru"\n')
    cfg = parse(["--config", str(cfg_file), "--hidden", "32", "--tie-weights", "--max-tokens=none"])
    assert (cfg.model.hidden, cfg.model.cell, cfg.lr, cfg.model.tie_weights) == (32, "gru", 0.5, True)
    assert cfg.model.max_tokens is None and cfg.run.out == "runs/latest"


def test_flag_names_follow_leaf_names():
    cfg = parse(["--dropout", "0.25", "--seed", "7", "--out", "x"])
    assert flat_dict(cfg)["dropout"] == 0.25 and cfg.run.seed == 7 and cfg.run.out == "x"


def test_unknown_key_and_wrong_type_are_named(tmp_path):
    with pytest.raises(SeqlabError, match="unknown key 'hiden' in config: did you mean 'hidden'"):
        from_dict(Task, {"hiden": 3})  # (a near miss: its likely key, not the list of them all)
    with pytest.raises(SeqlabError, match="unknown key 'zzz' in config; known keys: cell, "):
        from_dict(Task, {"zzz": 3})
    with pytest.raises(SeqlabError, match="'hidden'.*not a valid int"):
        from_dict(Task, {"model": {"hidden": "big"}})
    with pytest.raises(SeqlabError, match="'cell'.*not one of rnn, gru, lstm"):
        from_dict(Task, {"cell": "transformer"})
    bad = tmp_path / "bad.toml"
    bad.write_text("lr = = 1")
    with pytest.raises(SeqlabError, match="not valid TOML"):
        parse(["--config", str(bad)])
    with pytest.raises(SeqlabError, match="not found"):
        parse(["--config", str(tmp_path / "missing.toml")])


def test_a_key_in_another_section_or_given_twice_is_named():
    # a leaf name is unique, so either was applied silently: [model] lr = 2 set the training rate, and of
    # hidden = 3 at the top and [model] hidden = 5 the later won
    with pytest.raises(SeqlabError, match=r"config key 'lr' stands in \[model\] in config, but belongs at the top: "
                                          r"move it there"):
        from_dict(Task, {"model": {"lr": 2.0}})
    with pytest.raises(SeqlabError, match=r"config key 'seed' stands in \[model\] in config, but belongs in \[run\]"):
        from_dict(Task, {"model": {"seed": 3}})
    with pytest.raises(SeqlabError, match=r"config key 'hidden' is given twice in config \(at the top and in "
                                          r"\[model\]\): keep one"):
        from_dict(Task, {"hidden": 3, "model": {"hidden": 5}})
    # a table that is no section is named as one; an int past a float's range says so
    with pytest.raises(SeqlabError, match=r"config has a section \[model.run\], which these settings do not have "
                                          r"\(sections: model, run\)"):
        from_dict(Task, {"model": {"run": {"seed": 1}}})
    with pytest.raises(SeqlabError, match=r"config key 'lr': an integer of 401 digits is past a float's range"):
        from_dict(Task, {"lr": 10**400})
    # a checkpoint's config (written by a seqlab that may have grouped the settings otherwise) is read as before
    assert from_dict(Task, {"model": {"lr": 2.0}}, any_section=True).lr == 2.0
    # at the top, any key; in its own section, as before
    assert from_dict(Task, {"hidden": 3, "seed": 4, "model": {"cell": "gru"}, "run": {"out": "o"}}) == replace(
        Task(), hidden=3, seed=4, cell="gru", out="o")


def test_bad_flag_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        parse(["--hidden", "many"])
    assert exc.value.code == 2 and "not a valid int" in capsys.readouterr().err


def test_replace_and_bools_are_not_ints():
    cfg = replace(Task(), hidden=8, lr=2)
    assert cfg.model.hidden == 8 and cfg.lr == 2.0 and isinstance(cfg.lr, float)
    with pytest.raises(SeqlabError, match="unknown config key 'hiden'"):  # a typo is not dropped silently
        replace(Task(), hiden=8)
    with pytest.raises(SeqlabError):
        from_dict(Task, {"hidden": True})



@dataclasses.dataclass
class Documented:
    hidden: int = 16  # units per layer
    lr: float = 0.1
    run: RunConfig = dataclasses.field(default_factory=RunConfig)


def test_help_describes_each_flag_from_its_field_comment():
    parser = argparse.ArgumentParser()
    add_config_args(parser, Documented)
    text = " ".join(parser.format_help().split())
    assert "--hidden HIDDEN units per layer (default: 16)" in text
    assert "--lr LR (default: 0.1)" in text  # no comment: the default alone
    assert "--out OUT folder for metrics, plots and checkpoints (default: runs/latest)" in text  # nested


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("command", ["lm", "translate", "forecast", "classify"])
def test_every_training_flag_is_described(command):
    from seqlab.cli import build_parser

    train = _subcommand(_subcommand(build_parser(), "train"), command)
    bare = [a.option_strings[0] for a in train._actions if a.option_strings and str(a.help).startswith("(default")]
    assert bare == [], f"train {command}: flags without a description: {bare}"
    text = " ".join(train.format_help().split())  # what --help prints (a bare % in a comment broke it once)
    assert all(a.option_strings[0] in text for a in train._actions if a.option_strings)


def test_help_keeps_a_percent_sign_in_a_description():
    from seqlab.cli import build_parser

    text = " ".join(_subcommand(_subcommand(build_parser(), "train"), "lm").format_help().split())
    assert "(its last 10% held out)" in text


@dataclasses.dataclass
class Outer:
    inner: Task = dataclasses.field(default_factory=Task)  # a component holding components
    epochs: int = 1


def test_sections_inside_sections_round_trip():
    # a checkpoint stores to_dict(cfg): sections inside sections must read back as they were
    cfg = replace(Outer(), hidden=12, cell="gru", seed=3, lr=0.25, epochs=4)
    data = dataclasses.asdict(cfg)
    assert data["inner"]["model"] == {"hidden": 12, "cell": "gru", "dropout": 0.0, "tie_weights": False,
                                      "max_tokens": None}
    assert from_dict(Outer, data) == cfg


def test_optional_bool_flag_reads_words():
    # an optional bool (`standardize: bool | None`) is a value flag: yes/no/true/false/on/off/1/0/none
    from seqlab.training.forecast import ForecastConfig

    parser = argparse.ArgumentParser()
    add_config_args(parser, ForecastConfig)
    for text, value in (("yes", True), ("on", True), ("1", True), ("TRUE", True), ("no", False), ("off", False),
                        ("0", False), ("false", False), ("none", None)):
        assert build_config(ForecastConfig, parser.parse_args(["--standardize", text])).series.standardize is value


def test_every_shipped_config_loads_as_exactly_one_task():
    # A typo in a recipe (a misspelt key, a schedule that does not exist) must fail here, not after
    # a user has started a 10-minute run: each configs/*.toml parses as one task's config, and an
    # LM recipe also passes the training checks and builds its model.
    from pathlib import Path

    from seqlab.cli.translate import TranslateConfig
    from seqlab.config import build_config
    from seqlab.errors import SeqlabError
    from seqlab.models.lm import build_lm
    from seqlab.training import lm_regularized
    from seqlab.training.classify import ClassifyConfig
    from seqlab.training.forecast import ForecastConfig
    from seqlab.training.lm import LMConfig

    import math

    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    files = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))
    assert len(files) >= 20
    for path in files:
        parsed = []
        for cls in (LMConfig, TranslateConfig, ForecastConfig, ClassifyConfig):
            try:
                parsed.append(build_config(cls, {"config": str(path)}))
            except SeqlabError:
                pass
        assert len(parsed) == 1, f"{path.name} parses as {len(parsed)} task configs"
        cfg = parsed[0]
        if isinstance(cfg, LMConfig):
            lm_regularized.check_options(cfg.train)
            V = 2000 if cfg.model.embed else 60
            net = build_lm(cfg.model, V).eval()
            # an untrained LM predicts about uniformly: loss ~ ln V (ptb_lstm's tied N(0, 1) output
            # layer started 0.39 nats above it here, and its train ppl after 60k PTB tokens was 7.7x
            # that of the U(-0.1, 0.1) start; benchmarks/RESULTS.md, issue 9, section 2b)
            X, Y = torch.randint(0, V, (4, 20), generator=g), torch.randint(0, V, (80,), generator=g)
            with torch.no_grad():
                loss = F.cross_entropy(net(X, net.begin_state(4))[0], Y).item()
            assert abs(loss - math.log(V)) < 0.1, f"{path.name}: initial loss {loss:.2f}, ln V = {math.log(V):.2f}"


def test_field_docs_are_the_comments_at_the_end_of_each_fields_line(tmp_path, monkeypatch):
    import importlib

    from seqlab.config import field_docs
    from seqlab.training.lm import LMConfig

    docs = field_docs(LMConfig)  # nested components too
    assert docs["hidden"] == "hidden units per layer" and "num_steps" in docs and "out" in docs

    @dataclasses.dataclass
    class Local:  # defined in a function: read through inspect
        width: int = 3  # how wide
        depth: int = 1

    assert field_docs(Local) == {"width": "how wide"}
    # a class under a module-level `if` (not in the module's top-level body) and a later definition
    # of the same name (the one Python binds)
    (tmp_path / "docs_mod.py").write_text(
        "import dataclasses\n"
        "@dataclasses.dataclass\nclass Twice:\n    a: int = 1  # the first\n"
        "@dataclasses.dataclass\nclass Twice:\n    a: int = 1  # the second\n"
        "if True:\n    @dataclasses.dataclass\n    class Nested:\n        b: int = 2  # under an if\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("docs_mod")
    assert field_docs(mod.Twice) == {"a": "the second"} and field_docs(mod.Nested) == {"b": "under an if"}


def test_every_lm_config_says_how_to_train_it_in_its_header():
    # each LM recipe's comment header gives the command that trains it, as ptb_small's does: five
    # (ptb_lstm, wikitext2_lstm, tinyshakespeare_lstm, timemachine_deep_lstm, timemachine_bilstm) gave none
    import shlex
    from pathlib import Path

    from seqlab.cli import build_parser
    from seqlab.config import build_config
    from seqlab.errors import SeqlabError
    from seqlab.training.lm import LMConfig

    def is_lm(path):
        try:
            return build_config(LMConfig, {"config": str(path)}) is not None
        except SeqlabError:
            return False

    lm = [p for p in sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml")) if is_lm(p)]
    assert len(lm) >= 15
    for path in lm:
        header = path.read_text().split("\n[", 1)[0].splitlines()
        commands = [line[2:] for line in header if line.startswith("# seqlab train lm --config ")]
        assert len(commands) == 1, f"{path.name}: no `seqlab train lm --config` line in its comment header"
        args = build_parser().parse_args(shlex.split(commands[0].split("  ")[0])[1:])  # 2 spaces: a comment
        assert args.config == f"configs/{path.name}" and args.out, path.name


def test_a_config_file_with_a_bom_reads_and_a_folder_or_other_encoding_is_named(tmp_path):
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbfhidden = 7\n")  # Notepad's UTF-8 with a BOM: was 'Invalid statement'
    assert parse(["--config", str(bom)]).model.hidden == 7
    with pytest.raises(SeqlabError, match="is a folder: give the .toml file in it"):
        parse(["--config", str(tmp_path)])  # was 'not found'
    latin = tmp_path / "latin.toml"
    latin.write_bytes("cell = 'gru' # é\n".encode("latin-1"))
    with pytest.raises(SeqlabError, match="is not UTF-8 text .*save it as UTF-8"):
        parse(["--config", str(latin)])
