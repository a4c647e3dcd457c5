"""Property tests (hypothesis) of `read_text_utf8`, the LM loader's reader, against `read_text(path).encode()`
(and of `TextBlocks`, its reader for str tokenizers, against `read_text(path)`): the same text, or the same
refusal word for word, for files of any of the pieces below (bad UTF-8 anywhere, a
byte order mark, \\r\\n and \\r, NUL, text of whitespace only), checked in blocks of any size; and
`load_lm_corpus`, which reads with it, against `encode_text` of `read_text`'s text."""

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seqlab.data import token_ids
from seqlab.data.corpora import HELDOUT_FRACTION, encode_text, load_lm_corpus
from seqlab.data.text import TextBlocks, read_text, read_text_utf8
from seqlab.errors import SeqlabError

FIXTURE = [HealthCheck.function_scoped_fixture]
PIECES = [b"a", b"The", "\xe9".encode(), "\u65e5\u672c".encode(), "\U0001F600".encode(), b" ", b"\t", b"\n",
          b"\r", b"\r\n", b"\xef\xbb\xbf", "\xa0".encode(), "\u2028".encode(), "\u3000".encode(),
          b"\xff", b"\xe2\x82", b"\x80", b"\xc3", b"\x00"]
files = st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join)


def outcome(read, path):
    try:
        return read(path)
    except SeqlabError as exc:
        return f"refused: {exc}"


@settings(max_examples=400, deadline=None, suppress_health_check=FIXTURE)
@given(files, st.sampled_from([1, 3, 1 << 20]))
@example(b"ab\n\xe2\x82\ncd\n", 3)  # a cut character before a newline: the offset a whole decode names
@example(b"\xef\xbb\xbf \n\xe3\x80\x80\n", 1)  # a byte order mark and whitespace only, in blocks: empty
@example(b"\xef\xbb\xbfa\r\nb\rc", 1 << 20)
def test_read_text_utf8_is_read_text_encoded(tmp_path, data, block):
    path = tmp_path / "corpus.txt"
    path.write_bytes(data)
    want = outcome(read_text, path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(token_ids, "BLOCK", block)  # a bad byte or the first non-blank character in any block
        got = outcome(read_text_utf8, path)
        blocks = outcome(lambda p: "".join(TextBlocks(p)), path)
    assert got == (want if isinstance(want, str) and want.startswith("refused") else want.encode())
    assert blocks == want


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(st.lists(st.sampled_from(PIECES[:14]), min_size=20, max_size=60).map(b"".join),
       st.sampled_from(["word", "char"]), st.sampled_from([3, 1 << 20]))
def test_load_lm_corpus_reads_a_file_as_encode_text_of_its_text(tmp_path, data, level, block):
    path = tmp_path / "corpus.txt"
    path.write_bytes(data)
    try:
        text = read_text(path)
    except SeqlabError:
        return  # (refusals: the test above)
    ids, vocab = encode_text(text, level)
    n_valid = int(round(len(ids) * HELDOUT_FRACTION))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(token_ids, "BLOCK", block)
        try:
            corpus = load_lm_corpus(data=path, level=level)
        except SeqlabError as exc:
            assert "too short" in str(exc) and (n_valid < 2 or len(ids) - n_valid < 2)
            return
    assert torch.equal(torch.cat([corpus.train, corpus.valid]),
                       torch.tensor([corpus.vocab.token_to_idx.get(t, 0) for t in vocab.to_tokens(ids)]))
    assert len(corpus.valid) == n_valid
