"""Property tests (hypothesis) of the translation data pipeline against plain references: build_array_nmt
against the book's per-line `truncate_pad(vocab[line] + [<eos>])`, tokenize_nmt against a line-by-line
split, and split_pairs as a partition grouped by source sentence."""

from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.translation import EOS, PAD, RESERVED, build_array_nmt, tokenize_nmt, truncate_pad
from seqlab.data.translation_splits import cut_counts, split_pairs
from seqlab.data.vocab import Vocab

WORDS = ["a", "b", "c", "zz", "日", "<pad>", "<eos>", "<bos>", "<unk>", ""]  # control tokens written as words too
words = st.sampled_from(WORDS)
lines = st.lists(st.lists(words, max_size=8), max_size=6)


@settings(max_examples=300, deadline=None)
@given(lines, st.integers(1, 10), st.lists(words, max_size=12))
def test_build_array_nmt_is_the_books_truncate_pad_of_each_line(token_lines, num_steps, vocab_tokens):
    vocab = Vocab(vocab_tokens, reserved_tokens=RESERVED)
    array, valid_len = build_array_nmt(token_lines, vocab, num_steps)
    assert array.shape == (len(token_lines), num_steps)
    assert array.tolist() == [truncate_pad(vocab[line] + [vocab[EOS]], num_steps, vocab[PAD]) for line in token_lines]
    assert valid_len.tolist() == [min(len(line) + 1, num_steps) for line in token_lines]
    cut = cut_counts([(line, []) for line in token_lines], num_steps)
    assert cut["source"] == sum(len(line) >= num_steps for line in token_lines)  # those that lost their <eos>


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from(list("ab \t\xa0")), max_size=7), max_size=10),
       st.one_of(st.none(), st.integers(1, 9)), st.booleans())
def test_tokenize_nmt_splits_each_two_field_line_on_single_spaces(raw_lines, num_examples, drop_empty):
    text = "\n".join(raw_lines)
    source, target = tokenize_nmt(text, num_examples, drop_empty=drop_empty)
    want_source, want_target = [], []
    for i, line in enumerate(text.split("\n")):
        if num_examples is not None and i > num_examples:  # the book's: stops after line num_examples
            break
        fields = line.split("\t")
        if len(fields) == 2:
            src, tgt = fields[0].split(" "), fields[1].split(" ")
            want_source.append([w for w in src if w] if drop_empty else src)
            want_target.append([w for w in tgt if w] if drop_empty else tgt)
    assert (source, target) == (want_source, want_target)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from("abc"), min_size=1, max_size=3), st.lists(st.sampled_from("xy"))),
                min_size=1, max_size=40),
       st.sampled_from([0.0, 0.1, 0.3]), st.sampled_from([0.0, 0.1, 0.3]), st.integers(0, 5))
def test_split_pairs_is_a_partition_grouped_by_source_sentence(pairs, valid_frac, test_frac, seed):
    source, target = [s for s, _ in pairs], [t for _, t in pairs]
    try:
        splits = split_pairs(source, target, valid_frac, test_frac, seed)
    except Exception as exc:  # only when training would get nothing
        assert "no training pairs" in str(exc)
        assert round(len({tuple(s) for s in source}) * (1 - valid_frac - test_frac)) <= 1
        return
    # every pair once, each split in file order
    tagged = sorted((i, name) for name, got in splits.items() for i in _positions(got, pairs))
    assert [i for i, _ in tagged] == list(range(len(pairs)))
    where: dict[tuple, set] = {}
    for i, name in tagged:
        where.setdefault(tuple(source[i]), set()).add(name)
    assert all(len(names) == 1 for names in where.values())  # a source sentence in one split only
    sentences = len(where)
    for name, frac in (("test", test_frac), ("valid", valid_frac)):
        assert sum(names == {name} for names in where.values()) == round(sentences * frac)
    assert split_pairs(source, target, valid_frac, test_frac, seed) == splits  # deterministic


def _positions(got, pairs) -> list[int]:
    """The indices into `pairs` of the split's pairs, which are the given lists themselves, in order."""
    ids = {(id(s), id(t)): i for i, (s, t) in enumerate(pairs)}
    positions = [ids[id(s), id(t)] for s, t in got]
    assert positions == sorted(positions)
    return positions
