"""`seqlab translate --n-best N`: INDEX<TAB>SCORE<TAB>TRANSLATION lines, N per input line, against
the library's beam search (same hypotheses, order and scores), across --batch-size chunks."""

import io
import sys

import pytest
import torch

from seqlab.cli import main
from seqlab.data.translation import BOS, EOS, read_source
from seqlab.errors import SeqlabError
from seqlab.generation.translate import beam_search
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.translate import load_translator

PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("I lost.", "J'ai perdu."),
         ("I'm home.", "Je suis chez moi."), ("He's calm.", "Il est calme."), ("Go now.", "Va maintenant !"),
         ("I'm calm.", "Je suis calme."), ("He's home.", "Il est chez lui."), ("I lost it.", "Je l'ai perdu.")]
# a blank line (no translation, not a failure) and one of unknown words only (a failure), among others
LINES = ["go .", "i lost .", "", "hi .", "xyzzy plugh", "he's calm .", "go now .", "i'm home ."]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbest")
    pairs = root / "pairs.txt"
    pairs.write_text("".join(f"{a}\t{b}\n" for a, b in PAIRS * 6), encoding="utf-8")
    out = root / "run"
    assert main(["train", "translate", "--data", str(pairs), "--num-steps", "6", "--embed", "8", "--hidden", "16",
                 "--layers", "1", "--dropout", "0", "--batch-size", "16", "--epochs", "3", "--lr", "0.02",
                 "--valid-frac", "0.1", "--test-frac", "0", "--min-freq", "1", "--bleu-every", "0",
                 "--device", "cpu", "--out", str(out)]) == 0
    text = root / "in.txt"
    text.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return out, text


def _translate(run, capsys, *argv):
    out, _ = run
    capsys.readouterr()
    code = main(["translate", "--checkpoint", str(out), "--device", "cpu", *argv])
    got = capsys.readouterr()
    return code, got.out.splitlines(), got.err


def _expected(run, lines, *, beam, n_best, batch_size, max_len=None):
    """What --n-best should print, from `beam_search` itself: the CLI's chunks of `batch_size`
    lines, each chunk's translatable lines decoded together, as INDEX<TAB>SCORE<TAB>TRANSLATION."""
    model, vocabs = load_translator(load_checkpoint(run[0]), torch.device("cpu"))
    tgt = vocabs.tgt_vocab
    rows = []
    for start in range(0, len(lines), batch_size):
        chunk = lines[start:start + batch_size]
        sources = {}
        for j, text in enumerate(chunk):
            try:
                sources[j] = read_source(text, vocabs.src_vocab, vocabs.num_steps)
            except SeqlabError:  # blank, or unknown words only: no translation
                pass
        hyps = {}
        if sources:
            src = torch.tensor([s.ids for s in sources.values()])
            src_len = torch.tensor([s.length for s in sources.values()])
            found = beam_search(model, src, src_len, tgt[BOS], tgt[EOS], beam, max_len or vocabs.num_steps,
                                0.75, n_best)
            hyps = dict(zip(sources, found))
        for j in range(len(chunk)):
            hs = hyps.get(j, [])
            rows += [f"{start + j}\t{h.score:.4f}\t{' '.join(tgt.to_tokens(h.tokens))}" for h in hs]
            rows += [f"{start + j}\t\t"] * (n_best - len(hs))
    return rows


@pytest.mark.parametrize("batch_size", [64, 3, 2])
def test_n_best_lines_are_beam_searchs_in_its_order_with_its_scores(run, capsys, batch_size):
    code, lines, err = _translate(run, capsys, "--file", str(run[1]), "--beam", "4", "--n-best", "3",
                                  "--batch-size", str(batch_size))
    assert code == 2 and "line 5: every word of 'xyzzy plugh' is unknown" in err  # the one failure, by line number
    assert lines == _expected(run, LINES, beam=4, n_best=3, batch_size=batch_size)
    # grouping: N lines per input line, indexed from 0 in input order across the chunks
    assert [int(line.split("\t")[0]) for line in lines] == [i for i in range(len(LINES)) for _ in range(3)]
    fields = [line.split("\t") for line in lines]
    assert all(len(f) == 3 for f in fields)
    for i in (2, 4):  # the blank line and the failed one: N lines with no score and no translation
        assert lines[3 * i:3 * i + 3] == [f"{i}\t\t"] * 3
    for i in (0, 1, 3, 5, 6, 7):  # best first, distinct
        group = fields[3 * i:3 * i + 3]
        scores = [float(f[1]) for f in group]
        assert scores == sorted(scores, reverse=True) and len({f[2] for f in group}) == 3


@pytest.mark.parametrize("beam, n_best", [(4, 3), (3, 3), (1, 1)])
def test_the_first_of_n_is_the_line_printed_without_n_best(run, capsys, beam, n_best):
    _, plain, _ = _translate(run, capsys, "--file", str(run[1]), "--beam", str(beam), "--batch-size", "3")
    _, best, _ = _translate(run, capsys, "--file", str(run[1]), "--beam", str(beam), "--n-best", str(n_best),
                            "--batch-size", "3")
    assert len(plain) == len(LINES) and len(best) == n_best * len(LINES)
    assert [line.split("\t")[2] for line in best[::n_best]] == plain


def test_arguments_come_first_then_standard_input(run, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"hi .\ngo now .\n"), encoding="utf-8"))
    code, lines, _ = _translate(run, capsys, "I lost.", "--file", "-", "--beam", "2", "--n-best", "2")
    assert code == 0
    assert lines == _expected(run, ["I lost.", "hi .", "go now ."], beam=2, n_best=2, batch_size=64)


def test_fewer_candidates_than_n_fill_the_rest_with_empty_places(run, capsys):
    # --max-len 1: a candidate is one token, so there are as many candidates as target words
    words = len(load_checkpoint(run[0]).meta["tgt_vocab"]["idx_to_token"])
    n = words + 2
    code, lines, _ = _translate(run, capsys, "go .", "hi .", "--beam", str(n), "--n-best", str(n), "--max-len", "1")
    assert code == 0 and len(lines) == 2 * n
    assert lines == _expected(run, ["go .", "hi ."], beam=n, n_best=n, batch_size=64, max_len=1)
    first = lines[:n]
    assert all(line.split("\t")[1] for line in first[:words]) and first[words:] == ["0\t\t"] * 2
    assert len({line.split("\t")[2] for line in first[:words]}) == words  # distinct: every word once


@pytest.mark.parametrize("flags, message", [
    (["--beam", "4", "--n-best", "0"], "--n-best must be at least 1"),
    (["--beam", "4", "--n-best", "5"], "--n-best 5 exceeds --beam 4: the beam keeps 4 candidates per sentence; "
                                       "raise --beam to at least 5"),
    (["--n-best", "2"], "--n-best 2 needs beam search: greedy decoding (--beam 1)"),
])
def test_bad_n_best_is_one_line_and_exit_2(run, capsys, flags, message):
    code, lines, err = _translate(run, capsys, "go .", *flags)
    assert code == 2 and lines == [] and message in err and err.count("\n") == 1 and "Traceback" not in err


def _hypotheses(run, lines, *, beam, n_best, max_len):
    """beam_search's hypotheses of each of `lines` (decoded together, as one --batch-size chunk),
    [] for a line that cannot be translated."""
    model, vocabs = load_translator(load_checkpoint(run[0]), torch.device("cpu"))
    sources = {}
    for j, text in enumerate(lines):
        try:
            sources[j] = read_source(text, vocabs.src_vocab, vocabs.num_steps)
        except SeqlabError:
            pass
    src = torch.tensor([s.ids for s in sources.values()])
    src_len = torch.tensor([s.length for s in sources.values()])
    found = dict(zip(sources, beam_search(model, src, src_len, vocabs.tgt_vocab[BOS], vocabs.tgt_vocab[EOS], beam,
                                          max_len, 0.75, n_best)))
    return [found.get(j, []) for j in range(len(lines))]


def test_every_candidate_cut_at_max_len_is_noted_by_rank(run, capsys):
    # --max-len 3: "va !" + <eos> fits, a three-word candidate does not; the best may end while lower ranks are cut
    lines = [line for line in LINES if line]
    code, rows, err = _translate(run, capsys, "--file", str(run[1]), "--beam", "4", "--n-best", "4", "--max-len", "3")
    assert code == 2 and len(rows) == 4 * len(LINES)  # the line of unknown words; the format is unchanged
    assert rows == _expected(run, LINES, beam=4, n_best=4, batch_size=64, max_len=3)
    notes = [line for line in err.splitlines() if "reached --max-len" in line]
    expected, plural, best_ended = [], False, False
    for text, hs in zip(lines, _hypotheses(run, lines, beam=4, n_best=4, max_len=3)):
        cut = [rank for rank, h in enumerate(hs, start=1) if h.length == len(h.tokens)]  # no <eos>
        if not cut:
            continue
        number = LINES.index(text) + 1
        if len(cut) == 1:
            expected.append(f"seqlab: note: {run[1]} line {number}: candidate {cut[0]} of 4 reached --max-len 3 "
                            "tokens without ending: it may be cut short")
        else:
            expected.append(f"seqlab: note: {run[1]} line {number}: candidates {', '.join(map(str, cut))} of 4 "
                            "reached --max-len 3 tokens without ending: they may be cut short")
        plural |= len(cut) > 1
        best_ended |= 1 not in cut  # noted now; before, only a cut best was
    assert notes == expected and plural and best_ended


def test_detok_prints_the_translation_column_for_reading(run, capsys):
    from seqlab.data.detok import detokenize

    code, rows, _ = _translate(run, capsys, "--file", str(run[1]), "--beam", "4", "--n-best", "3")
    for flag, french in (("--detok", False), ("--detok-french", True)):
        code2, detok, _ = _translate(run, capsys, "--file", str(run[1]), "--beam", "4", "--n-best", "3", flag)
        assert code2 == code == 2 and len(detok) == len(rows)
        for plain, mine in zip(rows, detok):  # INDEX and SCORE as they were, the TRANSLATION detokenised
            index, score, text = plain.split("\t")
            assert mine == f"{index}\t{score}\t{detokenize(text, french=french)}"
        # "va !": "Va!" (--detok), "Va !" (--detok-french)
        assert any(row.endswith(" !") for row in rows) and any(row.endswith(" !") for row in detok) == french
    # without --n-best: each line, and a blank input line stays blank
    _, plain, _ = _translate(run, capsys, "--file", str(run[1]))
    _, detok, _ = _translate(run, capsys, "--file", str(run[1]), "--detok")
    assert detok == [detokenize(line) for line in plain] and detok[2] == "" and detok != plain
    assert all(line[:1].isupper() for line in detok if line and line[0].isalpha())


def test_detok_and_detok_french_are_exclusive_and_documented(run, capsys):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:  # argparse's own error
        main(["translate", "--checkpoint", str(run[0]), "go .", "--detok", "--detok-french"])
    assert exit_.value.code == 2 and "--detok-french: not allowed with argument --detok" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["translate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for fragment in ("--detok", "BLEU (seqlab evaluate) is computed on the tokenised text",
                     "With --n-best, the TRANSLATION column too", "naming the ranks of the candidates"):
        assert fragment in text, fragment
