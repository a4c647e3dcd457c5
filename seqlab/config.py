"""Typed configuration: dataclasses, a TOML file, and command-line overrides.

A task's config is a dataclass whose fields are leaves (int, float, str, bool,
`Literal[...]`, `X | None`) or nested component dataclasses. Every leaf name is
unique across the components, so each one is also a command-line flag:
`hidden` is `--hidden 256` or `--hidden=256`, `batch_size` is `--batch-size`, a bool
`tie_weights` is `--tie-weights` / `--no-tie-weights`.

Precedence, lowest first: the dataclass defaults, the `--config FILE` (TOML, flat
keys or one `[section]` per component), the flags given on the command line. An
unknown key or a value of the wrong type is a `SeqlabError` that names it.

A leaf that names a file or folder is typed `PathText` (a str): a `~` at its start is the
user's home folder, however the config is built (flags, a TOML file, Python), as the CLI's
own path options read it (`user_path`).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import numbers
import os
import sys
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from seqlab.errors import SeqlabError
from seqlab.source_comments import class_source

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

_PATH = "path"
PathText = Annotated[str, _PATH]  # a leaf naming a file or folder: a str, its leading ~ expanded (`_build`)


def user_path(text: str) -> str:
    """A path as typed, a `~` at its start read as the user's home folder (os.path.expanduser): a
    POSIX shell expands `--out ~/run` itself, but not a quoted "~/run", `--out=~/run`, a TOML
    file's value, nor Windows' cmd and PowerShell. The argparse `type` of the CLI's path options."""
    return os.path.expanduser(text)


def _is_path(tp: Any) -> bool:
    """Whether `tp` (a leaf's type, its `Annotated` marks kept) is `PathText`, or `PathText | None`."""
    inner = _optional_inner(tp)[1]
    return typing.get_origin(inner) is Annotated and _PATH in inner.__metadata__


def _is_component(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _hints(cls: type, *, extras: bool = False) -> dict[str, Any]:
    """The fields' types; `extras`: with their Annotated marks (PathText's) kept."""
    return typing.get_type_hints(cls, include_extras=extras)


def leaves(cls: type) -> dict[str, tuple[tuple[str, ...], Any]]:
    """Map each leaf name to (path of component names, type)."""
    out: dict[str, tuple[tuple[str, ...], Any]] = {}

    def walk(c: type, path: tuple[str, ...]) -> None:
        hints = _hints(c)  # (once per class: get_type_hints evaluates every annotation of the class)
        for f in dataclasses.fields(c):
            tp = hints[f.name]
            if _is_component(tp):
                walk(tp, path + (f.name,))
                continue
            if f.name in out:
                raise TypeError(f"config leaf {f.name!r} appears twice in {cls.__name__}")
            out[f.name] = (path, tp)

    walk(cls, ())
    return out


def field_docs(cls: type) -> dict[str, str]:
    """Each leaf's description: the comment at the end of its line in the class source.

    `hidden: int = 256  # units per layer` documents `--hidden` as "units per layer"
    (the convention of simple-parsing). Empty where the source is not available.
    """
    out: dict[str, str] = {}
    classes = [cls]
    while classes:
        c = classes.pop()
        node, comments = class_source(c)
        for stmt in node.body if node is not None else ():
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                if stmt.lineno in comments:
                    out.setdefault(stmt.target.id, comments[stmt.lineno])
        classes += [_hints(c)[f.name] for f in dataclasses.fields(c) if _is_component(_hints(c)[f.name])]
    return out


def _optional_inner(tp: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return True, args[0]
    return False, tp


def _type_name(tp: Any) -> str:
    optional, inner = _optional_inner(tp)
    if typing.get_origin(inner) is Literal:
        name = "|".join(str(a) for a in typing.get_args(inner))
    else:
        name = getattr(inner, "__name__", str(inner))
    return f"{name} or none" if optional else name


def coerce(name: str, tp: Any, value: Any, *, from_text: bool = False) -> Any:
    """Check (and, for command-line text, convert) `value` for a leaf of type `tp`."""
    optional, inner = _optional_inner(tp)
    if value is None or (from_text and optional and str(value).lower() in ("none", "null")):
        if optional:
            return None
        raise SeqlabError(f"config key {name!r} must not be empty (expected {_type_name(tp)})")
    bad = SeqlabError(f"config key {name!r}: {value!r} is not a valid {_type_name(tp)}")
    if typing.get_origin(inner) is Literal:
        choices = typing.get_args(inner)
        for choice in choices:
            if value == choice or (from_text and str(choice) == str(value)):
                return choice
        raise SeqlabError(f"config key {name!r}: {value!r} is not one of {', '.join(map(str, choices))}")
    if inner is bool:
        if isinstance(value, bool):
            return value
        if from_text and str(value).lower() in _TRUE | _FALSE:
            return str(value).lower() in _TRUE
        raise bad
    if inner is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):  # numpy's int64 too
            return int(value)
        if from_text:
            try:
                return int(str(value))
            except ValueError:
                raise bad from None
        raise bad
    if inner is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):  # numpy's float32 too
            try:
                return float(value)
            except OverflowError:  # an int past a float's range (a TOML lr = 1 and 400 zeros)
                raise SeqlabError(f"config key {name!r}: an integer of {len(str(abs(value)))} digits is past a "
                                  "float's range (about 1.8e308)") from None
        if from_text:
            try:
                return float(str(value))
            except ValueError:
                raise bad from None
        raise bad
    if inner is str:
        if isinstance(value, str):
            return value
        if isinstance(value, os.PathLike):  # a pathlib.Path for --out or --data
            return os.fspath(value)
        if from_text:
            return str(value)
        raise bad
    raise TypeError(f"unsupported config type {tp!r} for {name!r}")


def from_dict(cls: type, data: dict, *, where: str = "config", any_section: bool = False) -> Any:
    """Build `cls` from plain data: flat leaf keys, or nested sections per component, each key in its
    own; `any_section`: a key in another component's section is read too (a checkpoint's config,
    written by a seqlab whose components may have grouped the settings otherwise)."""
    table = leaves(cls)
    flat: dict[str, Any] = {}
    components = {p[0] for p, _ in table.values() if p}
    sections = {p[:i] for p, _ in table.values() for i in range(1, len(p) + 1)}  # ("inner",), ("inner", "model")

    given: dict[str, tuple[str, ...] | None] = {}  # each key's section as given (None: at the top)

    def name(path: tuple[str, ...] | None) -> str:
        return "at the top" if not path else f"in [{'.'.join(path)}]"

    def take(key: str, value: Any, path: tuple[str, ...] | None = None) -> None:
        if key not in table:
            raise unknown_key(key, table, path, where)
        if path is not None and path != table[key][0] and not any_section:  # (a leaf name is unique)
            raise SeqlabError(f"config key {key!r} stands {name(path)} in {where}, but belongs {name(table[key][0])}: "
                              "move it there (or write it at the top, outside any section)")
        if key in given:  # (the later one won, silently)
            raise SeqlabError(f"config key {key!r} is given twice in {where} ({name(given[key])} and {name(path)}): "
                              "keep one")
        given[key] = path
        flat[key] = coerce(key, table[key][1], value)

    def section(path: tuple[str, ...], values: dict) -> None:
        for sub_key, sub_value in values.items():  # (a table that is no component, [train.x] or lr = {...}: refused)
            if isinstance(sub_value, dict) and path + (sub_key,) in sections:
                section(path + (sub_key,), sub_value)
            elif isinstance(sub_value, dict) and sub_key not in table:  # ([model.train], [train.x])
                inner = sorted(".".join(p) for p in sections if len(p) > 1)
                raise SeqlabError(f"{where} has a section [{'.'.join(path + (sub_key,))}], which these settings do "
                                  f"not have (sections: {', '.join(sorted(components) + inner)})")
            else:
                take(sub_key, sub_value, path)

    for key, value in data.items():
        if isinstance(value, dict) and key in components:
            section((key,), value)
        elif isinstance(value, dict):
            raise SeqlabError(f"{where} has a section [{key}], which this command's settings do not have "
                              f"(its sections: {', '.join(sorted(components)) or 'none'}): is the file a "
                              "config for another task?")
        else:
            take(key, value)
    return _build(cls, flat)


def unknown_key(key: str, table: dict, path: tuple[str, ...] | None, where: str) -> SeqlabError:
    """The error for a key that `table` (a config's `leaves`) lacks. A near miss (`hiden`, `epoch`,
    `batch-size` as the flag spells it) gets the keys it is likely to mean, not a list of all 47
    to read through; else the keys of the section it stands in, or all of them at the top."""
    normal = key.lower().replace("-", "_")
    close = [normal] if normal in table else difflib.get_close_matches(normal, table, n=3, cutoff=0.7)
    if close:  # (0.7: `vocab_size` is not `batch_size` (0.6), `hiden` is `hidden` (0.91))
        return SeqlabError(f"unknown key {key!r} in {where}: did you mean {' or '.join(map(repr, close))}?")
    here = sorted(k for k, (p, _) in table.items() if path and p == path)
    if here:
        return SeqlabError(f"unknown key {key!r} in {where}; the keys of [{'.'.join(path)}] are: {', '.join(here)}")
    return SeqlabError(f"unknown key {key!r} in {where}; known keys: {', '.join(sorted(table))}")


def _build(cls: type, flat: dict[str, Any]) -> Any:
    kwargs = {}
    hints, marked = _hints(cls), _hints(cls, extras=True)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if _is_component(tp):
            kwargs[f.name] = _build(tp, flat)
        elif f.name in flat:
            value = flat[f.name]
            kwargs[f.name] = user_path(value) if isinstance(value, str) and _is_path(marked[f.name]) else value
    return cls(**kwargs)


def validated(cfg: Any) -> Any:
    """`cfg` (a task's config dataclass, built in Python) checked leaf by leaf as a config file's
    would be: the same settings, numbers made plain Python ones (numpy's int64 and float32 are
    taken), or a SeqlabError naming the key. A trainer checks its config with this before it
    writes anything: a run could not otherwise load its own checkpoints, whose loader checks the
    saved config this way."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise SeqlabError(f"expected a config dataclass instance, got {type(cfg).__name__}")
    return from_dict(type(cfg), to_dict(cfg), where=f"the {type(cfg).__name__} given")


def to_dict(cfg: Any) -> dict:
    """Plain nested data (JSON- and TOML-able) for a config."""
    return dataclasses.asdict(cfg)


def flat_dict(cfg: Any) -> dict:
    """Leaf name -> value."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            out.update(flat_dict(value))
        else:
            out[f.name] = value
    return out


def load_toml(path: str | Path) -> dict:
    path = Path(path).expanduser()
    if path.is_dir():
        raise SeqlabError(f"config file {str(path)!r} is a folder: give the .toml file in it")
    if not path.is_file():
        raise SeqlabError(f"config file {str(path)!r} not found")
    try:
        text = path.read_bytes().removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM (Notepad's), as the data files allow
        return tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SeqlabError(f"config file {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}): save it "
                          "as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise SeqlabError(f"config file {str(path)!r} is not valid TOML: {exc}") from None


def add_config_args(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = (),
                    docs: dict[str, str] | None = None) -> None:
    """One flag per leaf of `cls`, plus `--config FILE`. Flags not given stay unset. `docs`
    replaces the help of some leaves (a shared option that means less for this command)."""
    defaults = flat_dict(cls())
    docs = field_docs(cls) | (docs or {})
    parser.add_argument("--config", metavar="FILE", type=user_path, default=argparse.SUPPRESS,
                        help="TOML file of settings; flags given here override it")
    for name, (_, tp) in leaves(cls).items():
        if name in skip:
            continue
        flag = "--" + name.replace("_", "-")
        optional, inner = _optional_inner(tp)
        help_text = f"{docs[name]} (default: {defaults[name]})" if name in docs else f"(default: {defaults[name]})"
        help_text = help_text.replace("%", "%%")  # argparse %-formats help: "10%" would break --help
        if inner is bool and not optional:
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
            continue

        def convert(text: str, _name: str = name, _tp: Any = tp) -> Any:
            try:
                return coerce(_name, _tp, text, from_text=True)
            except SeqlabError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        metavar = name.upper()
        if typing.get_origin(inner) is Literal:
            metavar = "{" + ",".join(map(str, typing.get_args(inner))) + "}"
        parser.add_argument(flag, dest=name, type=convert, default=argparse.SUPPRESS,
                            metavar=metavar, help=help_text)


def build_config(cls: type, args: argparse.Namespace | dict | None = None, *,
                 file_data: dict | None = None) -> Any:
    """Defaults, then `args.config` (a TOML file), then the leaves set in `args`. `file_data`: that
    file's contents, where the caller has read it already (load_toml), so that it is read once."""
    given = dict(vars(args)) if isinstance(args, argparse.Namespace) else dict(args or {})
    data: dict[str, Any] = {}
    config_path = given.pop("config", None)
    cfg = cls()
    if config_path:
        file_data = load_toml(config_path) if file_data is None else file_data
        cfg = from_dict(cls, file_data, where=f"config file {config_path}")
    data = flat_dict(cfg)
    table = leaves(cls)
    for key, value in given.items():
        if key in table:
            data[key] = coerce(key, table[key][1], value)
    return _build(cls, data)


def leaf_items(data: dict):
    """(key, value) of every leaf of plain nested data (a TOML file, a checkpoint's config)."""
    for key, value in data.items():
        if isinstance(value, dict):
            yield from leaf_items(value)
        else:
            yield key, value


def given_keys(args: argparse.Namespace, *, file_data: dict | None = None) -> set[str]:
    """The leaf names a command sets: its flags, and the keys of its --config file (`file_data`: the
    file's contents, where the caller has read it already)."""
    given = {k for k in vars(args) if k != "config"}
    path = getattr(args, "config", None)
    if path:
        given.update(key for key, _ in leaf_items(load_toml(path) if file_data is None else file_data))
    return given


def replace(cfg: Any, **changes: Any) -> Any:
    """A copy of `cfg` with some leaves changed (by leaf name, at any depth)."""
    data = flat_dict(cfg)
    table = leaves(type(cfg))
    for key, value in changes.items():
        if key not in table:
            raise SeqlabError(f"unknown config key {key!r}")
        data[key] = coerce(key, table[key][1], value)
    return _build(type(cfg), data)


@dataclasses.dataclass
class RunConfig:
    """Options every training command shares (SPEC §12): where to write, device, seed, resume/overwrite."""

    out: PathText = "runs/latest"  # folder for metrics, plots and checkpoints
    device: str = "auto"  # auto (CUDA if available), cpu, cuda or cuda:N
    seed: int = 0  # random seed (initialisation, sampling, dropout)
    resume: bool = False  # continue the run in OUT from its last.safetensors (or best: --resume-from)
    resume_from: Literal["last", "best"] = "last"  # the checkpoint --resume continues from (giving it implies --resume): last, or best, the epoch of the best validation figure; the run goes on after best's epoch as if it had stopped there, and what it did after that epoch is set aside, with a warning: metrics.jsonl is copied to metrics.jsonl.bak before losing those epochs' rows, and last.safetensors is moved to last.safetensors.bak (an earlier one's .bak files are never replaced: a second rewind asks to move them out first)
    overwrite: bool = False  # replace a run already in OUT (its checkpoints and metrics.jsonl)
