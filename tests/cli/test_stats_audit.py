"""Mutation-audit additions for seqlab.cli.stats: what the existing tests let through."""

import json
from pathlib import Path

from seqlab.cli import main


def test_the_eos_note_counts_a_last_line_without_a_newline(tmp_path, capsys):
    # 4 words on 2 lines, the last without "\n": train lm reads an <eos> at each line end, 4 + 2 = 6
    text = tmp_path / "t.txt"
    text.write_text("a b\nc d")
    assert main(["stats", "--data", str(text), "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "4 tokens" in out and "train lm and evaluate read 6, with an <eos> at each line end" in out
    text.write_text("a b\nc d\n")  # (the same two line ends)
    assert main(["stats", "--data", str(text), "--top", "1"]) == 0
    assert "read 6, with" in capsys.readouterr().out


def test_stats_json_of_a_data_set_with_splits_names_the_split_it_counted(tmp_path, monkeypatch, capsys):
    # --split left out counts train.txt, and the JSON says "train" (as the header does), not null
    import seqlab.data.corpora as corpora

    for split, text in (("train", "a b a\n"), ("valid", "c d\n"), ("test", "e\n")):
        (tmp_path / f"{split}.txt").write_text(text)
    monkeypatch.setattr(corpora, "dataset_file", lambda name, file=None: tmp_path / file)
    assert main(["stats", "--dataset", "ptb", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["split"], result["tokens"]) == ("train", 3)


def test_each_ngram_table_says_its_own_number_of_distinct_ngrams(tmp_path, capsys):
    words = "a b a c a".split()  # one line: 3 distinct words, 4 distinct bigrams, 3 distinct trigrams
    (tmp_path / "t.txt").write_text(" ".join(words) + "\n")
    assert main(["stats", "--data", str(tmp_path / "t.txt"), "--top", "1"]) == 0
    out = capsys.readouterr().out
    for n, label in ((1, "unigrams"), (2, "bigrams"), (3, "trigrams")):
        distinct = len({tuple(words[i:i + n]) for i in range(len(words) - n + 1)})
        assert f"top {label} ({distinct} distinct):" in out


def test_the_text_report_says_where_the_plot_went_and_the_ranks_each_exponent_was_fitted_on(tmp_path, capsys,
                                                                                          monkeypatch):
    import seqlab.data.stats

    # (the figure itself is test_stats_cli's: drawn here it costs seconds)
    monkeypatch.setattr(seqlab.data.stats, "plot_zipf", lambda path, tables, title: Path(path).write_bytes(b"\x89PNG"))
    text, png = tmp_path / "t.txt", tmp_path / "zipf.png"
    text.write_text("the cat sat on the mat and the dog sat on the log with the cat\n" * 3)
    assert main(["stats", "--data", str(text), "--json"]) == 0
    fitted = {n: t["zipf_ranks"] for n, t in json.loads(capsys.readouterr().out)["ngrams"].items()}
    assert main(["stats", "--data", str(text), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert out.endswith(f"\nplot written to {png}\n") and png.read_bytes()[:4] == b"\x89PNG"
    for n, label in (("1", "unigrams"), ("2", "bigrams"), ("3", "trigrams")):
        first, last = fitted[n]
        assert f"Zipf exponent, {label}: alpha = " in out and f"(fitted on ranks {first}-{last})\n" in out
