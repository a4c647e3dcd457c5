"""A series file's delimiter (`seqlab.data.csv_columns`): a tab for a .tsv file, else a comma, and the
refusals of a file that is probably separated by another one (';', with decimal commas, from a European
spreadsheet), or whose rows hold a field too many or too few."""

from __future__ import annotations

import csv
from pathlib import Path


def delimiter_of(path: str | Path) -> str:
    """The delimiter a series file is read with: a tab for a .tsv file (any case), else a comma."""
    return "\t" if Path(path).suffix.lower() == ".tsv" else ","


SAID = {";": "';'", "\t": "a tab", "|": "'|'", ",": "a comma"}


def other_delimiter(header: list[str], delimiter: str = ",", rows: list[list[str]] | None = None) -> str:
    """When a one-column header holds another delimiter than the file's `delimiter`, and so does each of
    its first `rows` that is not blank (where given, and there are any: a name may hold one, 'sales, EUR'),
    the file is probably not separated by `delimiter`: what to do about it; else ''."""
    if len(header) == 1:
        filled = [delimiter.join(r) for r in rows or () if any(c.strip() for c in r)]
        for other in (";", "\t", "|", ","):
            if other != delimiter and other in header[0] and all(other in r for r in filled):
                return (f"its header {header[0]!r} has no {SAID[delimiter][2:]}, and "
                        f"{save_as(other, delimiter)}")
    return ""


def delimiter_in_rows(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    """When the header (its cells as read) and every one of `rows` that is not blank (at least one)
    hold the same number of another delimiter outside quotes (';', a tab, '|'; never a comma, a decimal comma
    in a tab-separated file), the file is probably separated by it: what to do about it; else ''.
    (A header that holds it as well as each row, as often, is no comma-separated file's.)"""
    rows = [r for r in rows if any(c.strip() for c in r)]
    for other in (";", "\t", "|"):
        k = _splits(header, delimiter, other)
        if other != delimiter and k and rows and all(_splits(r, delimiter, other) == k for r in rows):
            example = delimiter.join(rows[0])
            return (f"its header and its first {len(rows)} row{'s' if len(rows) > 1 else ''} each hold {k} "
                    f"{SAID[other]} (e.g. {example[:60]!r}), so {save_as(other, delimiter)}")
    return ""


def _splits(cells: list[str], delimiter: str, other: str) -> int:
    """How many times the line of `cells` (read at `delimiter`) splits at `other` outside quotes, as a
    reader at `other` would split it: a quoted cell's own ';' ('"a; b"') is not counted, so a row
    holding one still matches the header."""
    if not any(other in c for c in cells):
        return 0
    return len(next(csv.reader([delimiter.join(cells)], delimiter=other), [])) - 1


def save_as(other: str, delimiter: str) -> str:
    """What a refusal of a file separated by `other`, not by its `delimiter`, says to do."""
    if delimiter == "\t":
        rename = ", or name it .csv" if other == "," else ""
        return (f"its delimiter is probably {SAID[other]}; seqlab reads a .tsv file as tab-separated: save it as "
                f"tab-separated (with '.' as the decimal point){rename}")
    rename = ", or name it .tsv" if other == "\t" else ""
    return (f"its delimiter is probably {SAID[other]}; seqlab reads comma-separated files (.tsv: tab-separated): "
            f"save it as comma-separated (with '.' as the decimal point){rename}")


def bad_row(name: str, line_no: int, fields: int, expected: int, first: str = "the header",
            delimiter: str = ",") -> str:
    said = SAID[delimiter][2:]
    if fields > expected:
        hint = ("an unquoted thousands separator (1,500)? write numbers without it (1500), or quote fields "
                "holding a comma" if delimiter == "," else f"a {said} too many, or quote fields holding a {said}")
    else:
        hint = f"a missing field, or a delimiter other than a {said} on that line?"
    return (f"CSV file {name}, line {line_no} has {fields} field{'s' if fields != 1 else ''} but {first} "
            f"has {expected}: {hint}")
