"""The end-of-line comments of a class's source: where `config.field_docs` reads each setting's help.

Kept apart from config.py: reading and parsing source text is no part of building a config.
"""

from __future__ import annotations

import ast
import functools
import inspect
import io
import sys
import textwrap
import tokenize
from pathlib import Path


def class_source(cls: type) -> tuple[ast.ClassDef | None, dict[int, str]]:
    """A class's definition in its module's syntax tree, and the module's end-of-line comments by
    line. Each module is read and parsed once (`inspect.getsource` parses the whole module again
    for every class: a third of a second of every `seqlab` command's start-up). A class defined
    inside a function, or under an `if` or `try`, is left to `inspect`."""
    tree, comments = module_source(getattr(sys.modules.get(cls.__module__), "__file__", None))
    node = tree
    for name in cls.__qualname__.split("."):  # the last definition of each name, as Python binds it
        found = [n for n in getattr(node, "body", ()) if isinstance(n, ast.ClassDef) and n.name == name]
        node = found[-1] if found else None
    if node is not None:
        return node, comments
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return None, {}
    return ast.parse(source).body[0], comments_by_line(source)


@functools.lru_cache(maxsize=None)
def module_source(filename: str | None) -> tuple[ast.Module | None, dict[int, str]]:
    try:
        source = Path(filename).read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, UnicodeDecodeError):
        return None, {}
    return tree, comments_by_line(source)


def comments_by_line(source: str) -> dict[int, str]:
    return {tok.start[0]: tok.string.lstrip("#").strip()
            for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT}
