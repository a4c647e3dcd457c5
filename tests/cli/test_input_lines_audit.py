"""Mutation-audit additions for seqlab.cli.input_lines: what the existing tests let through."""

import io
import sys

import pytest

from seqlab.cli.input_lines import input_lines, stdin_has_input


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbfa\r\n\xef\xbb\xbfb\nc\r\n",  # a BOM starts the input only; \r\n ends a line as \n does
    b"va !\r\n\r\nsalut\r\n",
    b"a\r\r\nb\r\nc\r",  # a \r before the line end is the line's (stdin dropped every one: "a", "c")
])
def test_standard_input_gives_the_lines_a_file_of_the_same_bytes_gives(tmp_path, monkeypatch, data):
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    from_file = [text for _, text in input_lines([], str(path), "translate")]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    got = list(input_lines([], "-", "translate"))
    assert [text for _, text in got] == from_file
    assert [where for where, _ in got] == [f"standard input line {n}" for n in range(1, len(got) + 1)]


def test_a_terminal_is_no_input_to_read(monkeypatch):
    # `seqlab translate --checkpoint R` typed at a prompt: no piped text, so nothing is waited for
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("va !\n"))
    assert stdin_has_input() is False
    monkeypatch.setattr(sys, "stdin", io.StringIO("va !\n"))  # a pipe or a file
    assert stdin_has_input() is True


def test_a_refused_file_is_closed_not_left_to_the_garbage_collector(tmp_path):
    # (from Python, a ResourceWarning "unclosed file" per refused file)
    import gc
    import warnings

    from seqlab.errors import SeqlabError

    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(SeqlabError, match="is empty"):
            input_lines([], str(path), "translate")
        gc.collect()
    assert [w for w in seen if issubclass(w.category, ResourceWarning)] == []
