"""Property tests (hypothesis) of labelled text: a file written by Python's csv writer (as pandas' to_csv
writes one) reads back row for row with the line each row starts on, the stratified held-out split
against its documented counts and stability, word tokens against the text's non-space characters,
and the padded id matrix against each text's own ids."""

import csv
import io
import re

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.labelled_rows import read_rows
from seqlab.data.labelled_text import encode, heldout_rows, label_order, text_tokens
from seqlab.data.vocab import Vocab

# texts made of what CSV quoting is about: delimiters, quotes, line breaks, spaces at the ends
CELL_CHARS = st.sampled_from(list("ab é,\t\"'\n;") + ["日本", "  ", "\xa0", "\u2028"])
cells = st.lists(CELL_CHARS, min_size=1, max_size=10).map("".join).filter(lambda c: c.strip())


def _written(rows: list[tuple[str, str, str]], delimiter: str) -> tuple[str, list[int]]:
    """The file's text (csv.writer, "\\n" line ends) and the line each row starts on."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["id", "label", "text"])
    starts, line = [], 2
    for row in rows:
        before = out.tell()
        writer.writerow(row)
        starts.append(line)
        line += out.getvalue()[before:].count("\n")
    return out.getvalue(), starts


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=8), st.sampled_from([".csv", ".tsv"]))
def test_quoted_rows_read_back_as_the_csv_writer_wrote_them(tmp_path_factory, rows, suffix):
    path = tmp_path_factory.mktemp("rows") / f"data{suffix}"
    text, starts = _written(rows, "," if suffix == ".csv" else "\t")
    path.write_text(text, encoding="utf-8")
    got = read_rows(path)
    assert got.labels == [label.strip() for _, label, _ in rows]
    assert got.texts == [text.strip() for _, _, text in rows]
    assert got.lines == starts


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(cells, cells), min_size=1, max_size=8), st.lists(st.integers(0, 2), max_size=8))
def test_unquoted_txt_rows_keep_their_quotes_and_skip_blank_lines(tmp_path_factory, rows, blanks):
    rows = [tuple(re.sub(r"[\t\n\u2028]", " ", c) for c in row) for row in rows]  # one line each, no tab
    rows = [row for row in rows if all(c.strip() for c in row)]
    lines, starts = ["label\ttext"], []
    for k, (label, text) in enumerate(rows):
        lines += [""] * (blanks[k] if k < len(blanks) else 0)
        lines.append(f"{label}\t{text}")
        starts.append(len(lines))
    path = tmp_path_factory.mktemp("rows") / "data.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if not rows:
        return
    got = read_rows(path)
    assert (got.labels, got.texts, got.lines) == ([a.strip() for a, _ in rows], [b.strip() for _, b in rows], starts)


labels = st.lists(st.sampled_from(["pos", "neg", "neutral", "1", "2", "10"]), min_size=2, max_size=80)


@settings(max_examples=200, deadline=None)
@given(labels, st.sampled_from([0.1, 0.25, 0.5]))
def test_heldout_rows_are_a_stratified_partition(rows, fraction):
    try:
        train, valid = heldout_rows(rows, fraction)
    except Exception:
        assert len(set(rows)) == len(rows)  # every label one row: nothing can be held out
        return
    assert sorted(train.tolist() + valid.tolist()) == list(range(len(rows)))
    assert train.tolist() == sorted(train.tolist()) and valid.tolist() == sorted(valid.tolist())
    held = {label: sum(rows[i] == label for i in valid.tolist()) for label in set(rows)}
    want = {label: min(round(fraction * rows.count(label)), rows.count(label) - 1) for label in set(rows)}
    if any(want.values()):
        assert held == want
    else:  # one row of the commonest label (the first in file order of equally common ones)
        widest = max(dict.fromkeys(rows), key=rows.count)
        assert held == {label: int(label == widest) for label in set(rows)}
    assert all(rows.count(label) > held[label] for label in held)  # every held-out label trains too


@settings(max_examples=100, deadline=None)
@given(st.integers(3, 40), labels, st.randoms(use_true_random=False), st.sampled_from([0.1, 0.3]))
def test_a_labels_held_out_rows_do_not_depend_on_other_labels_rows(n_a, others, rnd, fraction):
    rows = ["A"] * n_a + [label for label in others if label != "A"]
    rnd.shuffle(rows)
    fewer = [label for label in rows if label == "A" or rnd.random() < 0.5]  # other labels' rows removed

    def held_a(rows):
        _, valid = heldout_rows(rows, fraction)
        a_rows = [i for i, label in enumerate(rows) if label == "A"]
        return [a_rows.index(i) for i in valid.tolist() if rows[i] == "A"]  # which of A's rows

    if round(fraction * n_a):  # (else a small file may hold out the commonest label's row: not A's own choice)
        assert held_a(rows) == held_a(fewer)


@given(st.lists(st.one_of(st.integers(-20, 20).map(str), st.sampled_from(["01", "+3", "007"])), min_size=1))
def test_integer_labels_are_in_numeric_order(values):
    order = label_order(values)
    assert sorted(set(values)) == sorted(order)
    assert [int(v) for v in order] == sorted(int(v) for v in order)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.sampled_from(list("aB1_ .,!'\t\n\xa0\u3000éÉ日-")), max_size=20), max_size=5))
def test_word_tokens_are_the_texts_non_space_characters_lower_cased(texts):
    tokens = text_tokens(texts, "word")
    for text, toks in zip(texts, tokens):
        assert "".join(toks) == "".join(text.lower().split())
        assert all(t and not any(c.isspace() for c in t) for t in toks)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(list("abcdefg")), max_size=9), min_size=1, max_size=6),
       st.integers(1, 8), st.data())
def test_padded_rows_are_each_texts_first_max_len_ids_then_padding(tokens, max_len, data):
    vocab = Vocab([t for toks in tokens for t in toks][:5], reserved_tokens=["<pad>"])
    encoded = encode(tokens, [0] * len(tokens), vocab, max_len)
    idx = data.draw(st.lists(st.integers(0, len(tokens) - 1), max_size=5))
    matrix, lengths = encoded.padded(torch.tensor(idx, dtype=torch.long), vocab["<pad>"])
    width = max((min(len(tokens[i]), max_len) for i in idx), default=0)
    want = [vocab[tokens[i][:max_len]] + [vocab["<pad>"]] * (width - min(len(tokens[i]), max_len)) for i in idx]
    assert matrix.tolist() == (want if idx else [])
    assert lengths.tolist() == [min(len(tokens[i]), max_len) for i in idx]
    assert encoded.cut == sum(len(t) > max_len for t in tokens)
    assert np.array_equal(encoded.lengths.numpy(), [min(len(t), max_len) for t in tokens])
