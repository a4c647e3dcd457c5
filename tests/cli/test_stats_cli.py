"""`seqlab stats` and the CLI's error contract (exit 2, one line, no traceback)."""

import json

import pytest

from seqlab.cli import main


def test_stats_time_machine_prints_tables_and_writes_plot(tmp_path, capsys):
    png = tmp_path / "zipf.png"
    assert main(["stats", "--dataset", "timemachine", "--level", "word", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "2,261  the" in out and "309  of the" in out and "59  the time traveller" in out
    assert "Zipf exponent, unigrams: alpha =" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_stats_json_on_custom_file(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("a b a c a b\n" * 5)
    assert main(["stats", "--data", str(text), "--level", "word", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ngrams"]["1"]["top"][0] == ["a", 15]
    assert result["tokens"] == 30  # <eos> markers are not counted as words



def test_stats_json_names_its_source_and_lists_only_the_top_ngrams(tmp_path, capsys):
    # by hand: each line has a x3, b x2, c x1, so 5 lines give a 15, b 10, c 5. The JSON lists the
    # top ones, not every count of the table (a big corpus has hundreds of thousands of types)
    text = tmp_path / "t.txt"
    text.write_text("a b a c a b\n" * 5)
    assert main(["stats", "--data", str(text), "--level", "word", "--top", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == str(text) and result["level"] == "word" and result["plot"] is None
    uni = result["ngrams"]["1"]
    assert set(uni) == {"types", "top", "zipf_alpha", "zipf_ranks"}
    assert uni["types"] == 3 and uni["top"] == [["a", 15], ["b", 10]]


@pytest.mark.parametrize("argv, message", [
    (["stats", "--dataset", "imdb"], "unknown dataset 'imdb'"),
    (["stats", "--data", "/nonexistent/file.txt"], "not found"),
    (["stats", "--dataset", "timemachine", "--top", "0"], "--top must be positive"),
    (["stats", "--dataset", "timemachine", "--plot", "out.jpg"], "must name a .png"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_binary_and_empty_files_exit_2(tmp_path, capsys):
    binary = tmp_path / "b.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    empty = tmp_path / "e.txt"
    empty.write_text("")
    assert main(["stats", "--data", str(binary)]) == 2
    assert main(["stats", "--data", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "binary" in err and "empty" in err and "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["stats", "--level", "byte", "--dataset", "timemachine"])
    assert exc.value.code == 2


def test_unexpected_failure_exits_1_with_the_traceback(tmp_path, capsys, monkeypatch):
    # a bug (not bad input) is exit code 1 with everything shown (SPEC §12), unlike bad input's 2
    import seqlab.data.stats as stats

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")
    monkeypatch.setattr(stats, "describe_ids", broken)
    text = tmp_path / "t.txt"
    text.write_text("a b a c a b\n")
    assert main(["stats", "--data", str(text)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: simulated bug" in err and "unexpected failure" in err


def test_stats_of_a_data_set_with_splits_says_which_split_it_counts(tmp_path, monkeypatch, capsys):
    # `stats --dataset ptb` counted train.txt alone (887,521 tokens) and its header did not say so
    import seqlab.data.corpora as corpora

    for split, text in (("train", "a b a\n" * 3), ("valid", "c d\n"), ("test", "e\n")):
        (tmp_path / f"{split}.txt").write_text(text)
    asked = []
    monkeypatch.setattr(corpora, "dataset_file", lambda name, file=None: asked.append((name, file)) or tmp_path / file)
    assert main(["stats", "--dataset", "ptb", "--top", "1"]) == 0
    assert capsys.readouterr().out.startswith("ptb train split (word level, raw text): 9 tokens, 2 types\n")
    assert main(["stats", "--dataset", "wikitext-2", "--split", "valid", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["dataset"], result["split"], result["tokens"]) == ("wikitext-2", "valid", 2)
    assert asked == [("ptb", "train.txt"), ("wikitext-2", "valid.txt")]


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "timemachine", "--split", "valid"], "--split valid: timemachine is one text, without splits: "
                                                       "leave --split out"),
    (["--data", "{dir}/splits/train.txt", "--split", "test"], "--split test: '{dir}/splits/train.txt' is one text"),
    (["--data", "{dir}/splits"], "'{dir}/splits' is a folder, not a text file: give a file in it, e.g. "
                                 "'{dir}/splits/train.txt'"),  # as evaluate --data names one (its test.txt)
    (["--data", "{dir}/splits", "--split", "valid"], "e.g. '{dir}/splits/valid.txt'"),
])
def test_a_split_or_a_folder_where_stats_reads_one_text_says_what_to_give(tmp_path, capsys, argv, message):
    (tmp_path / "splits").mkdir()
    for name in ("test.txt", "train.txt", "valid.txt"):
        (tmp_path / "splits" / name).write_text("a b\n")
    assert main(["stats", *[a.format(dir=tmp_path) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert message.format(dir=tmp_path) in err and err.count("\n") == 1
