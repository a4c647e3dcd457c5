"""Translation split edges a hand mutation audit (session 31) found unpinned: each test here failed with one
small change to translation_splits.py that every other translation test passed."""

import pytest

from seqlab.data.translation_splits import load_translation, split_pairs
from seqlab.errors import SeqlabError


def test_a_split_that_leaves_no_training_sentence_is_refused():
    # 2 distinct sources: test round(2 * 0.5) = 1 sentence, valid round(2 * 0.45) = 1, train the 0 left, though
    # the fractions (sum 0.95) pass their own check
    source, target = [["a"], ["b"], ["a"]], [["x"], ["y"], ["z"]]
    with pytest.raises(SeqlabError, match="no training pairs left after the split"):
        split_pairs(source, target, valid_frac=0.45, test_frac=0.5)
    splits = split_pairs(source, target, valid_frac=0.0, test_frac=0.5)  # 1 sentence left to train on
    assert len(splits["train"]) + len(splits["test"]) == 3 and splits["valid"] == []


def test_an_unknown_dataset_without_a_data_file_is_refused_not_read_as_fra_eng():
    with pytest.raises(SeqlabError, match="unknown translation dataset 'de-en': use fra-eng, or --data FILE"):
        load_translation(dataset="de-en", num_examples=50)
