"""`seqlab translate` on many sentences: batches printed as they are done, one output line per input
line, per-line warnings, standard input, and the notes on stderr (checkpoint, <unk>, --max-len)."""

import io
import sys
import unicodedata

import pytest

from seqlab.cli import main

# French to English, with accents on the source side (an NFD-typed "désolé" must find the model's)
PAIRS = [("Va !", "Go."), ("Salut !", "Hi."), ("Je suis désolé.", "I'm sorry."), ("J'ai perdu.", "I lost."),
         ("Ça suffit !", "No way!"), ("Je suis calme.", "I'm calm."), ("Il est chez lui.", "He's home."),
         ("Je suis chez moi.", "I'm home."), ("Il est calme.", "He's calm."), ("Va maintenant !", "Go now."),
         ("Désolé !", "Sorry!"), ("Ça va.", "I'm fine."), ("Il est désolé.", "He's sorry."), ("Ça y est !", "Done!")]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nmt_input")
    pairs = root / "pairs.txt"
    pairs.write_text("".join(f"{unicodedata.normalize('NFC', a)}\t{b}\n" for a, b in PAIRS * 6), encoding="utf-8")
    out = root / "run"
    assert main(["train", "translate", "--data", str(pairs), "--num-steps", "6", "--embed", "8", "--hidden", "8",
                 "--layers", "1", "--dropout", "0", "--batch-size", "16", "--epochs", "2", "--valid-frac", "0.2",
                 "--test-frac", "0.0", "--min-freq", "1", "--bleu-every", "0", "--device", "cpu",
                 "--out", str(out)]) == 0
    return out


def _translate(run, *argv):
    return main(["translate", "--checkpoint", str(run), "--device", "cpu", *argv])


def _stdin(monkeypatch, data: bytes):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_translate_decodes_in_batches_and_prints_each_as_soon_as_it_is_done(run, capsys, monkeypatch, tmp_path):
    # the whole file was one decode() call: memory grew with the file, and nothing printed until the end
    import seqlab.generation.translate as gen

    sizes, printed_before, real = [], [], gen.decode

    def spy(model, src, *a, **k):
        sizes.append(src.shape[0])
        printed_before.append(capsys.readouterr().out.count("\n"))
        return real(model, src, *a, **k)

    monkeypatch.setattr(gen, "decode", spy)
    f = tmp_path / "in.txt"
    f.write_text("va !\nsalut !\nj'ai perdu .\nil est calme .\nva maintenant !\n", encoding="utf-8")
    capsys.readouterr()
    assert _translate(run, "--file", str(f), "--batch-size", "2") == 0
    assert sizes == [2, 2, 1]
    assert printed_before == [0, 2, 2]  # each batch's lines were out before the next batch was decoded
    assert capsys.readouterr().out.count("\n") == 1
    assert _translate(run, "--file", str(f), "--batch-size", "0") == 2
    assert "--batch-size must be at least 1" in capsys.readouterr().err


def test_a_file_gives_one_line_per_input_line_and_a_warning_for_each_line_it_cannot_translate(run, capsys, tmp_path):
    # a blank line was dropped (the output no longer lined up with the input), and one bad line
    # stopped everything with no line number
    f = tmp_path / "in.txt"
    f.write_text("va !\n\nxylophone\nje suis chez moi chez moi .\n   \nsalut !\n", encoding="utf-8")
    capsys.readouterr()
    assert _translate(run, "--file", str(f)) == 2
    captured = capsys.readouterr()
    out = captured.out.split("\n")
    assert len(out) == 7 and out[-1] == ""  # six lines, each ended by a newline
    assert out[0] and out[5] and out[1:5] == ["", "", "", ""]
    err = captured.err.splitlines()
    assert any(f"{f} line 3: every word of 'xylophone' is unknown" in e and e.startswith("seqlab: warning:")
               for e in err)
    assert any(f"{f} line 4: " in e and "has 7 tokens but the model reads at most 5" in e for e in err)
    assert not any("line 2" in e or "line 5" in e for e in err)  # a blank line is no failure
    assert err[-1] == "seqlab: warning: 2 of 6 lines could not be translated (their output lines are empty)"
    assert "Traceback" not in captured.err


def test_several_arguments_are_a_batch_but_a_single_one_keeps_its_error(run, capsys):
    capsys.readouterr()
    assert _translate(run, "va !", "", "salut !") == 0  # was "empty sentence", rc 2
    lines = capsys.readouterr().out.split("\n")
    assert len(lines) == 4 and lines[1] == "" and lines[0] and lines[2]
    assert _translate(run, "va !", "xylophone") == 2
    captured = capsys.readouterr()
    assert captured.out.split("\n")[1] == "" and "argument 2: every word of 'xylophone'" in captured.err
    assert _translate(run, "xylophone") == 2
    err = capsys.readouterr().err
    assert err.startswith("seqlab: error: every word of 'xylophone'") and err.count("\n") == 1
    assert _translate(run, "-") == 2
    assert "(to read standard input, use --file -)" in capsys.readouterr().err


def test_arguments_come_before_the_lines_of_the_file(run, capsys, tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("xylophone\n", encoding="utf-8")
    capsys.readouterr()
    assert _translate(run, "va !", "--file", str(f)) == 2
    captured = capsys.readouterr()
    assert captured.out.split("\n")[1] == "" and f"{f} line 1: every word" in captured.err


def test_standard_input_is_read_with_file_dash_and_when_piped(run, capsys, monkeypatch):
    # `echo "va !" | seqlab translate` said "nothing to translate"; `--file -`: "text file '-' not found"
    capsys.readouterr()
    _stdin(monkeypatch, b"\xef\xbb\xbfva !\r\n\nsalut !\n")
    assert _translate(run, "--file", "-") == 0
    by_file = capsys.readouterr().out
    assert by_file.count("\n") == 3 and by_file.split("\n")[1] == ""
    _stdin(monkeypatch, b"va !\n\nsalut !\n")
    assert _translate(run) == 0
    assert capsys.readouterr().out == by_file
    _stdin(monkeypatch, b"")
    assert _translate(run) == 2
    err = capsys.readouterr().err
    assert "nothing to translate: standard input is empty" in err and err.count("\n") == 1
    _stdin(monkeypatch, b"va \xe9\n")
    assert _translate(run, "--file", "-") == 2
    assert "standard input line 1: not UTF-8" in capsys.readouterr().err
    # a bad line amid others: warned about by number, an empty output line, the rest translated (it ended
    # the run, losing the good lines of its batch and every later one)
    _stdin(monkeypatch, b"va !\nsalut !\nva \xe9\nva !\nsalut !\n")
    assert _translate(run, "--file", "-", "--batch-size", "2") == 2
    captured = capsys.readouterr()
    lines = captured.out.split("\n")[:-1]
    assert len(lines) == 5 and lines[2] == "" and lines[0] == lines[3] != "" and lines[1] == lines[4] != ""
    assert "standard input line 3: not UTF-8 text" in captured.err and "1 of 5 lines" in captured.err
    # UTF-16 (a Windows export): one error naming it, not a shifted output of NUL-filled lines
    _stdin(monkeypatch, "va !\nsalut !\n".encode("utf-16"))
    assert _translate(run, "--file", "-") == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "looks like UTF-16, not UTF-8: convert it, e.g. `iconv -f utf-16" in captured.err


def test_decomposed_accents_translate_as_the_composed_ones(run, capsys, monkeypatch):
    # "désolé" typed as e + U+0301 was read as <unk>, without a word
    import seqlab.generation.translate as gen
    from seqlab.training.checkpoint import load_checkpoint

    sources, real = [], gen.decode
    monkeypatch.setattr(gen, "decode", lambda model, src, *a, **k: sources.append(src.tolist()) or
                        real(model, src, *a, **k))

    words = load_checkpoint(run).meta["src_vocab"]["idx_to_token"]
    assert unicodedata.normalize("NFC", "désolé") in words and unicodedata.normalize("NFC", "ça") in words
    nfc = unicodedata.normalize("NFC", "Je suis désolé. Ça va.")
    nfd = unicodedata.normalize("NFD", nfc)
    composed, decomposed = nfc.split(". "), nfd.split(". ")
    capsys.readouterr()
    assert _translate(run, *composed) == 0
    want = capsys.readouterr()
    assert _translate(run, *decomposed) == 0
    got = capsys.readouterr()
    assert sources[0] == sources[1]  # the encoder reads the same ids
    assert got.out == want.out and got.err == want.err and "<unk>" not in got.err


def test_unknown_words_are_noted_on_stderr(run, capsys):
    capsys.readouterr()
    assert _translate(run, "Je suis xylophone.") == 0
    captured = capsys.readouterr()
    assert "seqlab: note: unknown words read as <unk>: 'xylophone'" in captured.err
    assert captured.out.count("\n") == 1


def test_a_line_with_a_tab_is_warned_about(run, capsys, tmp_path):
    f = tmp_path / "pairs_as_input.txt"
    f.write_text("va !\tgo .\n", encoding="utf-8")
    capsys.readouterr()
    _translate(run, "--file", str(f))
    assert f"seqlab: warning: {f} line 1: holds a tab" in capsys.readouterr().err


def test_a_translation_cut_at_max_len_is_noted(run, capsys, monkeypatch):
    import seqlab.generation.translate as gen
    from seqlab.generation.translate import Hypothesis

    # first: ended with <eos> (length counts it); second: reached max_len (3) without it
    monkeypatch.setattr(gen, "decode", lambda *a, **k: [Hypothesis([5, 6], -1.0, -1.0, 3),
                                                         Hypothesis([5, 6, 7], -1.0, -1.0, 3)])
    capsys.readouterr()
    assert _translate(run, "va !", "salut !", "--max-len", "3") == 0
    err = capsys.readouterr().err
    assert "argument 2: the translation reached --max-len 3 tokens without ending" in err
    assert "argument 1" not in err


def test_translate_says_which_checkpoint_and_epoch_it_uses(run, capsys):
    capsys.readouterr()
    assert _translate(run, "va !") == 0
    err = capsys.readouterr().err
    assert "best.safetensors" in err and "(epoch " in err and " of 2; best: the lowest valid loss" in err
    assert _translate(run, "va !", "--which", "last") == 0
    assert "last.safetensors' (epoch 2 of 2; last: the final epoch" in capsys.readouterr().err
    # given best.safetensors itself, --which last is refused (tests/cli/test_which_with_a_file.py): the note
    # names the file to give instead
    assert main(["translate", "--checkpoint", str(run / "best.safetensors"), "--device", "cpu", "va !"]) == 0
    err = capsys.readouterr().err
    assert "best: the lowest valid loss, last.safetensors for the final epoch" in err and "--which" not in err


def test_translate_help_documents_the_input_order_exit_status_and_beam_rule(capsys):
    with pytest.raises(SystemExit):
        main(["translate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for fragment in ("arguments come first, then the lines of --file", "exit status: 0; 2",
                     "once K candidates have ended (fairseq's convention)", "lowest valid loss",
                     "'-': standard input", "--batch-size"):
        assert fragment in text, fragment


class _Stdout(io.StringIO):
    """Standard output that says when a line has been printed."""

    def __init__(self, printed):
        super().__init__()
        self.printed = printed

    def write(self, s):
        n = super().write(s)
        if "\n" in s:
            self.printed.set()
        return n


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no FIFOs here")
def test_a_files_first_batch_is_printed_before_the_rest_of_it_is_read(run, monkeypatch, tmp_path):
    # --file F read the whole file before the first batch (3x its size in memory); --file - did not
    import os
    import threading

    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    printed, released = threading.Event(), []

    def writer():
        with open(fifo, "wb") as f:
            f.write(b"va !\nsalut !\n")
            f.flush()
            released.append(printed.wait(20))  # False: nothing was printed until the file ended
            f.write(b"j'ai perdu .\n")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    out = _Stdout(printed)
    monkeypatch.setattr(sys, "stdout", out)
    assert _translate(run, "--file", str(fifo), "--batch-size", "2") == 0
    thread.join(20)
    assert released == [True] and len(out.getvalue().splitlines()) == 3


def test_a_file_line_that_is_not_utf8_is_warned_about_and_the_others_translated(run, capsys, tmp_path):
    # the file was refused whole, with no line number (standard input's bad line was a warning)
    f = tmp_path / "in.txt"
    f.write_bytes(b"va !\nva \xe9\nsalut !\n")
    capsys.readouterr()
    assert _translate(run, "--file", str(f)) == 2
    captured = capsys.readouterr()
    lines = captured.out.split("\n")
    assert len(lines) == 4 and lines[0] and lines[1] == "" and lines[2]
    assert (f"seqlab: warning: {f} line 2: not UTF-8 text (bad byte at offset 3 of the line, 8 of the file): "
            "convert the file, e.g. `iconv -f latin1 -t utf-8 FILE > FILE8`; its output line is left empty"
            in captured.err.splitlines())
    assert captured.err.splitlines()[-1] == ("seqlab: warning: 1 of 3 lines could not be translated (their output "
                                             "lines are empty)")
