"""Property tests (hypothesis) of what `seqlab translate` and `seqlab classify` read line by line
(seqlab.cli.input_lines): `chunks` gives every item once, in order, in lists of --batch-size but the last, for
any positive size (2**64 was a ValueError from islice: exit 1); a --file's lines come back as python's own
str.split("\\n") reads them, after the arguments, each named by its line number."""

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from seqlab.cli.input_lines import chunks, input_lines


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(), max_size=30), st.one_of(st.integers(1, 40), st.integers(2**62, 2**80)))
@example([1, 2, 3], 2**64)
def test_chunks_give_every_item_once_in_order_in_lists_of_the_size(items, size):
    got = list(chunks(iter(items), size))
    assert [x for chunk in got for x in chunk] == items
    assert all(len(chunk) == size for chunk in got[:-1])
    assert all(0 < len(chunk) <= size for chunk in got)


line_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r\x0b\x0c\x1c\x1d\x1e"
                                  "\x85\u2028\u2029\ufeff"), max_size=8)  # (a NUL: a binary file, refused)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(line_text, max_size=6), st.lists(line_text, min_size=1, max_size=6), st.booleans())
def test_a_files_lines_follow_the_arguments_each_named(tmp_path, arguments, lines, last_newline):
    assume(lines != [""] or last_newline)  # (an empty file is refused: "nothing to translate")
    path = tmp_path / "in.txt"
    path.write_bytes(("\n".join(lines) + ("\n" if last_newline else "")).encode("utf-8"))
    args = [(f"argument {i}", text) for i, text in enumerate(arguments)]
    got = list(input_lines(args, str(path), "translate"))
    want = lines if last_newline or lines[-1] != "" else lines[:-1]
    assert got == args + [(f"{path} line {n}", text) for n, text in enumerate(want, start=1)]
