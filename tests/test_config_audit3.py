"""config, a mutation audit's gaps: each checked against a value worked out by hand (what a flag or a
TOML value must become), on small config classes written here."""

import dataclasses
from typing import Annotated

import pytest

from seqlab.config import PathText, from_dict, leaves


@dataclasses.dataclass
class A:
    size: int = 1


@dataclasses.dataclass
class B:
    size: int = 2


@dataclasses.dataclass
class Twice:
    a: A = dataclasses.field(default_factory=A)
    b: B = dataclasses.field(default_factory=B)


def test_a_leaf_name_in_two_components_is_refused_when_the_table_is_built():
    with pytest.raises(TypeError, match="config leaf 'size' appears twice in Twice"):
        leaves(Twice)


@dataclasses.dataclass
class Marked:
    out: PathText = "runs/x"
    note: Annotated[str, "a label"] = "x"  # Annotated, but not a path: its ~ is text


def test_only_a_path_leaf_has_its_tilde_expanded(monkeypatch):
    monkeypatch.setenv("HOME", "/home/reader")
    cfg = from_dict(Marked, {"out": "~/run", "note": "~/run"})
    assert (cfg.out, cfg.note) == ("/home/reader/run", "~/run")


def test_a_bad_value_of_an_optional_leaf_names_its_type_with_none():
    from seqlab.config import coerce
    from seqlab.errors import SeqlabError

    with pytest.raises(SeqlabError, match=r"'max_tokens': 'many' is not a valid int or none$"):
        coerce("max_tokens", int | None, "many", from_text=True)
    assert coerce("max_tokens", int | None, "None", from_text=True) is None  # the text none, any case


@dataclasses.dataclass
class Inner:
    depth: int = 1


@dataclasses.dataclass
class Middle:
    inner: Inner = dataclasses.field(default_factory=Inner)
    width: int = 2


@dataclasses.dataclass
class Outer:
    middle: Middle = dataclasses.field(default_factory=Middle)


def test_a_key_of_a_nested_section_in_its_parents_section_is_refused():
    from seqlab.errors import SeqlabError

    assert from_dict(Outer, {"middle": {"width": 3, "inner": {"depth": 4}}}) == Outer(Middle(Inner(4), 3))
    with pytest.raises(SeqlabError, match=r"'depth' stands in \[middle\] .* but belongs in \[middle\.inner\]"):
        from_dict(Outer, {"middle": {"depth": 4}})


def test_numpy_integers_and_paths_are_taken_as_plain_values():
    from pathlib import Path

    import numpy as np

    cfg = from_dict(A, {"size": np.int64(3)})
    assert cfg.size == 3 and type(cfg.size) is int
    cfg = from_dict(Marked, {"out": Path("/data") / "run"})
    assert cfg.out == str(Path("/data") / "run") and isinstance(cfg.out, str)


def test_a_literal_is_matched_by_its_text_only_from_the_command_line():
    from typing import Literal

    from seqlab.config import coerce
    from seqlab.errors import SeqlabError

    assert coerce("heads", Literal[1, 2], "2", from_text=True) == 2  # --heads 2
    with pytest.raises(SeqlabError, match="'heads': '2' is not one of 1, 2"):
        coerce("heads", Literal[1, 2], "2")  # heads = "2" in a TOML file: a string, not the number


@dataclasses.dataclass
class Data:
    batch_size: int = 32
    num_steps: int = 35


@dataclasses.dataclass
class Flat:
    data: Data = dataclasses.field(default_factory=Data)
    hidden: int = 256


def test_an_unknown_key_gets_the_key_it_likely_means_or_its_sections_keys():
    from seqlab.errors import SeqlabError

    with pytest.raises(SeqlabError, match=r"unknown key 'batch-size' in config: did you mean 'batch_size'\?$"):
        from_dict(Flat, {"batch-size": 8})  # the flag's spelling
    with pytest.raises(SeqlabError, match=r"unknown key 'HIDDEN' in config: did you mean 'hidden'\?$"):
        from_dict(Flat, {"HIDDEN": 8})  # capitals
    with pytest.raises(SeqlabError, match=r"'vocab_size' in config; known keys: batch_size, hidden, num_steps$"):
        from_dict(Flat, {"vocab_size": 8})  # not batch_size (a ratio of 0.6 is no near miss)
    with pytest.raises(SeqlabError, match=r"'colour' in config; the keys of \[data\] are: batch_size, num_steps$"):
        from_dict(Flat, {"data": {"colour": 1}})


def test_validated_refuses_the_class_itself_and_build_config_checks_given_values():
    import argparse

    from seqlab.config import build_config, given_keys, validated
    from seqlab.errors import SeqlabError

    with pytest.raises(SeqlabError, match="expected a config dataclass instance, got type"):
        validated(Flat)
    with pytest.raises(SeqlabError, match="'hidden': '256' is not a valid int"):
        build_config(Flat, {"hidden": "256"})  # a str from Python, not the command line: refused
    assert given_keys(argparse.Namespace(hidden=3)) == {"hidden"}
    assert given_keys(argparse.Namespace(config=None, hidden=3)) == {"hidden"}  # --config is no leaf
