"""Property tests (hypothesis) of `Vocab` against a reference built from a Counter and a sort by
(-count, first seen), with reserved tokens, min_freq and max_size; `left_out`; and the JSON round
trip (tuples, strings, a cap on the left-out tokens kept) preserving everything a vocabulary answers."""

import collections
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data import vocab as vocab_module
from seqlab.data.vocab import UNK, Vocab

TOKENS = ["a", "b", "c", "the", "<unk>", "<pad>", "<eos>", "", " ", "日本", ("a", "b"), ("b", "a"), ("a",), 7]
tokens = st.lists(st.sampled_from(TOKENS), max_size=60)
reserved = st.lists(st.sampled_from(["<pad>", "<bos>", "<eos>", "<unk>", "a"]), max_size=4)


def reference(stream, min_freq, reserved_tokens, max_size):
    counts = collections.Counter(stream)
    first_seen = {t: i for i, t in reversed(list(enumerate(stream)))}
    ordered = sorted(counts, key=lambda t: (-counts[t], first_seen[t]))
    head = [UNK] + [t for t in dict.fromkeys(reserved_tokens) if t != UNK]
    kept = [t for t in ordered if counts[t] >= min_freq and t not in head]
    if max_size is not None:
        kept = kept[:max_size]
    itos = head + kept
    return itos, [(t, counts[t]) for t in ordered], sum(t not in itos for t in counts)


@settings(max_examples=300, deadline=None)
@given(tokens, st.integers(0, 4), reserved, st.one_of(st.none(), st.integers(1, 6)))
def test_vocab_matches_a_counter_sorted_by_count_then_first_seen(stream, min_freq, reserved_tokens, max_size):
    v = Vocab(stream, min_freq=min_freq, reserved_tokens=reserved_tokens, max_size=max_size)
    itos, freqs, left_out = reference(stream, min_freq, reserved_tokens, max_size)
    assert v.idx_to_token == itos
    assert v.token_freqs == freqs
    assert v.left_out == left_out
    assert [v.to_tokens(i) for i in range(len(v))] == itos
    assert [v.token_to_idx[t] for t in itos] == list(range(len(itos)))
    # (v[t] of a tuple looks up its elements, as the book's: documented)
    assert [v[t] for t in stream if not isinstance(t, tuple)] == [
        itos.index(t) if t in itos else v.unk for t in stream if not isinstance(t, tuple)]
    assert v.encode(stream).tolist() == [v.token_to_idx.get(t, 0) for t in stream]


@settings(max_examples=300, deadline=None)
@given(tokens, st.integers(0, 3), reserved, st.one_of(st.none(), st.integers(1, 4)), st.integers(0, 3))
def test_json_round_trip_keeps_order_counts_and_left_out(stream, min_freq, reserved_tokens, max_size, cap):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vocab_module, "SAVED_LEFT_OUT", cap)  # few left-out tokens kept: the rest only counted
        v = Vocab(stream, min_freq=min_freq, reserved_tokens=reserved_tokens, max_size=max_size)
        back = Vocab.from_dict(json.loads(json.dumps(v.to_dict(), ensure_ascii=False)))
        again = Vocab.from_dict(json.loads(json.dumps(back.to_dict())))
    for w in (back, again):
        assert w == v and w.idx_to_token == v.idx_to_token
        assert w.token_to_idx == v.token_to_idx
        assert w.left_out == v.left_out
        inside = [(t, f) for t, f in v.token_freqs if t in v.token_to_idx]
        outside = [(t, f) for t, f in v.token_freqs if t not in v.token_to_idx]
        assert w.token_freqs == [(t, f) for t, f in v.token_freqs if (t, f) in inside or (t, f) in outside[:cap]]
        assert hash(w) == hash(v)


class _CountedWalks(list):
    """A vocabulary's count table that counts the walks over it (each a cache miss per token at scale)."""

    walks = 0

    def __iter__(self):
        self.walks += 1
        return super().__iter__()


def reference_dict(v, cap):
    """`to_dict` written out: every kept token's count, the first `cap` left-out ones', and the number of the others."""
    outside = [t for t, _ in v.token_freqs if t not in v.token_to_idx]
    plain = lambda t: list(t) if isinstance(t, tuple) else t  # noqa: E731
    data = {"idx_to_token": [plain(t) for t in v.idx_to_token],
            "token_freqs": [[plain(t), f] for t, f in v.token_freqs if t in v.token_to_idx or t in outside[:cap]]}
    return data | ({"unsaved_left_out": len(outside) - cap} if len(outside) > cap else {})


@settings(max_examples=200, deadline=None)
@given(tokens, st.integers(0, 3), reserved, st.one_of(st.none(), st.integers(1, 4)), st.integers(0, 3), tokens)
def test_to_dict_walks_the_counts_once_and_hands_out_its_own_lists(stream, min_freq, reserved_tokens, max_size,
                                                                    cap, more):
    # every checkpoint saves to_dict(): the walk over 3M counted word types took 1 s at each save
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vocab_module, "SAVED_LEFT_OUT", cap)
        v = Vocab(stream, min_freq=min_freq, reserved_tokens=reserved_tokens, max_size=max_size)
        want = reference_dict(v, cap)
        v._token_freqs = counted = _CountedWalks(v._token_freqs)
        first = v.to_dict()
        assert first == want and counted.walks == 1
        first["idx_to_token"].append("x")  # the caller's own lists: the next save is not changed
        for pair in first["token_freqs"]:
            pair[1] += 1
            if isinstance(pair[0], list):
                pair[0].append("x")
        assert v.to_dict() == v.to_dict() == want and counted.walks == 1
        # a vocabulary whose tables change (replaced, or grown) is walked again
        v._token_freqs = counted = _CountedWalks(Vocab(stream + more).token_freqs)
        again = v.to_dict()
        assert counted.walks == 1 and again == reference_dict(v, cap)
        added = next((t for t, _ in v.token_freqs if t not in v.token_to_idx), None)
        if added is not None:
            v.token_to_idx[added] = len(v.idx_to_token)
            v.idx_to_token.append(added)
            walks, again = counted.walks, v.to_dict()
            assert counted.walks == walks + 1 and again == reference_dict(v, cap)
