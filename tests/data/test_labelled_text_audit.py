"""Mutation audit of the labelled-text hold-out: a large valid_fraction still leaves every label a
training row."""

from seqlab.data.labelled_text import heldout_rows


def test_a_large_fraction_holds_out_all_but_one_row_of_a_small_label():
    labels = ["a"] * 3 + ["b"] * 20
    train, valid = heldout_rows(labels, 0.9)
    # a: round(0.9 * 3) = 3 rows, at most 3 - 1 = 2; b: round(0.9 * 20) = 18 of 20
    assert [labels[i] for i in train].count("a") == 1 and [labels[i] for i in valid].count("a") == 2
    assert [labels[i] for i in valid].count("b") == 18
    assert len(heldout_rows(["a", "a", "b", "b", "b"], 0.7)[0]) == 2  # round(1.4) = 1 of a, round(2.1) = 2 of b
