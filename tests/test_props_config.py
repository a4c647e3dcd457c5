"""Property tests (hypothesis) of the typed configs (seqlab.config) on a real task's config (LMConfig): any
setting of every leaf, written to a TOML file (by a small writer here) and read back with python's tomllib,
or given as `--flag=text` on the command line, comes back equal; a value of another TOML type, an unknown
key or a table where a leaf belongs is a SeqlabError naming the key (STYLE.md principle 4)."""

import argparse
import math
import re
import typing

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seqlab.config import _optional_inner, add_config_args, build_config, flat_dict, from_dict, leaves, load_toml
from seqlab.errors import SeqlabError
from seqlab.training.lm import LMConfig

LEAVES = leaves(LMConfig)
fixture_ok = settings(max_examples=25, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


def _values(tp):
    """A strategy of valid values of a leaf's type (no None: TOML has none)."""
    inner = _optional_inner(tp)[1]
    if typing.get_origin(inner) is typing.Literal:
        return st.sampled_from(typing.get_args(inner))
    if inner is bool:
        return st.booleans()
    if inner is int:
        return st.integers()  # (tomllib reads ints past 64 bits)
    if inner is float:
        return st.floats(allow_nan=True, allow_infinity=True)
    assert inner is str, tp
    return st.text(max_size=12).filter(lambda s: not s.startswith("~"))  # (a path's ~ is expanded: tested elsewhere)


def _toml(value) -> str:
    """One TOML value: a basic string with every control character escaped, floats as python's repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)  # (repr: inf, -inf, 1e+300, 5e-324, -0.0 are TOML)
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and (a == b if not isinstance(a, float) else math.copysign(1, a) == math.copysign(1, b)
                                   and a == b)


settings_map = st.fixed_dictionaries({}, optional={name: _values(tp) for name, (_, tp) in LEAVES.items()})


@fixture_ok
@given(settings_map, st.booleans())
def test_a_config_written_to_toml_reads_back_equal(tmp_path_factory, given_values, sections):
    """Flat keys, or one [section] per component: every key given is set, the others keep their defaults."""
    if sections:
        by_part: dict = {}
        for name, value in given_values.items():
            by_part.setdefault(LEAVES[name][0][0], []).append(f"{name} = {_toml(value)}")
        text = "".join(f"[{part}]\n" + "\n".join(lines) + "\n" for part, lines in by_part.items())
    else:
        text = "".join(f"{name} = {_toml(value)}\n" for name, value in given_values.items())
    path = tmp_path_factory.mktemp("toml") / "c.toml"
    path.write_text(text, encoding="utf-8")
    got = flat_dict(from_dict(LMConfig, load_toml(path)))
    want = flat_dict(LMConfig()) | {k: float(v) if LEAVES[k][1] is float else v for k, v in given_values.items()}
    assert set(got) == set(want)
    for name in want:
        assert _same(got[name], want[name]), (name, got[name], want[name])


def _flag_text(name, value) -> list[str]:
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool) and not _optional_inner(LEAVES[name][1])[0]:
        return [flag if value else "--no-" + flag[2:]]
    return [f"{flag}={repr(value) if isinstance(value, float) else value}"]


@settings(max_examples=25, deadline=None)
@given(settings_map)
@example({"dataset": "None", "max_tokens": -1, "lr": float("-inf"), "out": "-x=y", "seed": 2**70})
def test_every_flag_given_as_text_is_applied(given_values):
    parser = argparse.ArgumentParser()
    add_config_args(parser, LMConfig)
    argv = [piece for name, value in given_values.items() for piece in _flag_text(name, value)]
    got = flat_dict(build_config(LMConfig, parser.parse_args(argv)))
    for name, value in given_values.items():
        optional, inner = _optional_inner(LEAVES[name][1])
        if optional and inner is str and value.lower() in ("none", "null"):  # (an optional leaf's "none" is None)
            value = None
        elif inner is float:
            value = float(value)
        assert _same(got[name], value), (name, got[name], value)


# a value of each other TOML type for a leaf (a TOML int is a valid float: 1 for lr is 1.0)
OTHER = {"bool": st.booleans(), "int": st.integers(), "float": st.floats(), "str": st.text(max_size=5),
         "table": st.just({"x": 1}), "list": st.just([1])}


def _kind(tp) -> str:
    inner = _optional_inner(tp)[1]
    return "str" if typing.get_origin(inner) is typing.Literal else inner.__name__


@st.composite
def wrong_values(draw):
    name = draw(st.sampled_from(sorted(LEAVES)))
    kind = _kind(LEAVES[name][1])
    return name, draw(st.one_of([s for k, s in OTHER.items() if k != kind and not (kind == "float" and k == "int")]))


@settings(max_examples=60, deadline=None)
@given(wrong_values())
@example(("lr", 10**400))  # an int past a float's range was an OverflowError (exit 1)
@example(("lr", {"lr": 3.0}))  # a table where a leaf belongs was read as its inner key
def test_a_value_of_another_type_is_refused_naming_its_key(pair):
    name, value = pair
    named = f"{re.escape(repr(name))}|{re.escape(f'section [{name}]')}"  # (a top-level table is a [section])
    docs = [{name: value}, {LEAVES[name][0][0]: {name: value}}]
    if isinstance(value, dict) and name in {path[0] for path, _ in LEAVES.values()}:
        docs.pop(0)  # (a table named `data` is the [data] section, the --data leaf's component)
    for doc in docs:
        with pytest.raises(SeqlabError, match=named):
            from_dict(LMConfig, doc)


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=10).filter(lambda k: k not in LEAVES), st.sampled_from(["train", "model", "run"]),
       st.booleans())
@example("bogus", "train", True)  # [train.bogus] lr = 2 was read as lr = 2
def test_an_unknown_key_or_table_is_refused_naming_it(key, part, as_table):
    value = {"lr": 2.0} if as_table else 1
    for doc in ({key: value}, {part: {key: value}}):
        if doc == {key: value} and as_table:  # (a top-level table is a section: its own message)
            with pytest.raises(SeqlabError, match="section"):
                from_dict(LMConfig, doc)
            continue
        # a table in a section is named as a section that is not one ([train.bogus]); a value, as an unknown key
        named = f"has a section [{part}.{key}], which these settings do not have" if as_table else f"unknown key {key!r}"
        with pytest.raises(SeqlabError, match=re.escape(named)):
            from_dict(LMConfig, doc)
