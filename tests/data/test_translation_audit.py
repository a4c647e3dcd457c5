"""Mutation audit of the translation pipeline: how many sources each split gets, and the num_steps
that would cut at most 1% of the pairs."""

from seqlab.data.translation_splits import cut_counts, split_pairs


def test_split_sizes_round_the_fractions_of_distinct_sources():
    # 10 distinct sources, two translations each: round(10 * 0.18) = 2 sources to test, round(10 * 0.27) = 3 to
    # valid (not int(): 1 and 2), each with both its pairs
    source = [[f"s{i}", "."] for i in range(10) for _ in range(2)]
    target = [[f"t{i}{k}", "."] for i in range(10) for k in range(2)]
    splits = split_pairs(source, target, valid_frac=0.27, test_frac=0.18, seed=3)
    assert [len(splits[s]) for s in ("test", "valid", "train")] == [4, 6, 10]
    assert len({tuple(p[0]) for p in splits["test"]}) == 2


def test_fits_99_is_the_smallest_num_steps_that_cuts_at_most_one_percent():
    # 99 pairs of 2 words (+ <eos>: 3) and one of 9 (10): num_steps 3 cuts 1 pair in 100, 1%
    pairs = [(["a", "b"], ["c", "d"])] * 99 + [(["a"] * 9, ["c"])]
    assert cut_counts(pairs, 3)["fits_99"] == 3
    # 3 long pairs in 200: num_steps 3 would cut 1.5%, so only the long pairs' 10 cuts at most 1%
    pairs = [(["a", "b"], ["c", "d"])] * 197 + [(["a"] * 9, ["c"])] * 3
    assert cut_counts(pairs, 3)["fits_99"] == 10
    # 2 long pairs in 200: 1% exactly, so 3
    assert cut_counts(pairs[:-1] + [(["a"], ["c"])], 3)["fits_99"] == 3
    # 2 long pairs in 150: num_steps 3 would cut 1.33%
    assert cut_counts([(["a", "b"], ["c"])] * 148 + [(["a"] * 9, ["c"])] * 2, 3)["fits_99"] == 10
