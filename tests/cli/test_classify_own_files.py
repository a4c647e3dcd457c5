"""`seqlab train classify --data` on users' own files (the review of users' own data): an aclImdb-style
folder (one text per file, a folder per label) named for what it is, with a command that makes it a
CSV; every missing column named at once, with the exact flags where a name differs in case only; and
the log's baseline said to be the validation split's commonest label."""

import json
import shlex
import subprocess
import sys

import pytest

from seqlab.cli import main
from seqlab.data.labelled_rows import read_rows
from seqlab.data.labelled_text import split_files
from seqlab.errors import SeqlabError

from cli_errors import expect_bad_input  # tests/reliability, on the test path

SMALL = ["--embed", "8", "--hidden", "8", "--layers", "1", "--batch-size", "4", "--seed", "1", "--no-progress"]

TEXTS = {"pos": ["a fine film, really", 'the "best" plot'], "neg": ["dull\nand long"], "neutral": ["it was a film"]}


def _imdb(root):
    """aclImdb's layout: train/<label>/<n>.txt, one text per file."""
    for label, texts in TEXTS.items():
        (root / "train" / label).mkdir(parents=True)
        for i, text in enumerate(texts):
            (root / "train" / label / f"{i}_7.txt").write_text(text, encoding="utf-8")
    return root


def test_a_folder_of_one_text_per_file_is_named_and_its_csv_command_works(tmp_path, monkeypatch):
    imdb = _imdb(tmp_path / "imdb")
    monkeypatch.chdir(tmp_path)
    for data, found in (("imdb", "train/ is a folder of subfolders neg/, neutral/, pos/, one text per .txt file"),
                        ("imdb/train", "it holds subfolders neg/, neutral/, pos/, one text per .txt file")):
        with pytest.raises(SeqlabError) as e:
            split_files(data)
        said = str(e.value)
        assert found in said and "which seqlab does not read" in said and "\n" not in said
    # the command the refusal gives, run as given (its python this one): a CSV of every text, labelled
    command = said.split("python -c ", 1)[1].split(", then --data")[0]
    subprocess.run(f"{shlex.quote(sys.executable)} -c {command}", shell=True, check=True, cwd=tmp_path)
    assert said.endswith("> train.csv, then --data train.csv")
    rows = read_rows(tmp_path / "train.csv")
    assert sorted(zip(rows.labels, rows.texts)) == sorted((label, t) for label, ts in TEXTS.items() for t in ts)
    assert imdb.is_dir()


def test_a_folder_without_split_files_or_texts_says_what_it_holds(tmp_path):
    (tmp_path / "d" / "train").mkdir(parents=True)
    with pytest.raises(SeqlabError) as e:
        split_files(tmp_path / "d")
    said = "is a folder without train and valid files (train/ is a folder): --data takes a labelled text"
    assert said in str(e.value)


def test_the_cli_refuses_the_folder_in_one_line(tmp_path, capsys):
    _imdb(tmp_path / "imdb")
    expect_bad_input(["train", "classify", "--data", str(tmp_path / "imdb"), "--out", str(tmp_path / "r")],
                     "train/ is a folder of subfolders neg/, neutral/, pos/", capsys, "python -c ")


@pytest.mark.parametrize("header, flags, said", [
    ("Text,Label", [], "has no column 'text' and no column 'label' (its columns: 'Text', 'Label'): give "
                       "--text-column Text --label-column Label (the file's names differ in case only)"),
    ("review,sentiment", [], "has no column 'text' and no column 'label' (its columns: 'review', 'sentiment'): name "
                             "the columns with --text-column and --label-column"),
    ("body,LABEL", [], "has no column 'text' and no column 'label' (its columns: 'body', 'LABEL'): give --label-column "
                       "LABEL (the file's names differ in case only), and name the column with --text-column"),
    ("My Text,label", ["--text-column", "my text"], "has no column 'my text' (its columns: 'My Text', 'label'): give "
                                                    "--text-column 'My Text' (the file's"),  # (quoted for the shell)
    ("Text,text2,label", ["--text-column", "TEXT"], "give --text-column Text (the file's names differ"),
    ("text,Text,label", ["--text-column", "TEXT"], "name the column with --text-column"),  # two in other cases
])
def test_every_missing_column_is_named_at_once(tmp_path, capsys, header, flags, said):
    f = tmp_path / "d.csv"
    f.write_text(header + "\n" + "\n".join(",".join(["good film"] * (header.count(",") + 1)) for _ in range(4)) + "\n")
    expect_bad_input(["train", "classify", "--data", str(f), *flags, "--out", str(tmp_path / "r")], said, capsys)


def test_the_logs_baseline_is_the_commonest_validation_label(tmp_path, capsys):
    # training: 'neutral' 5, 'neg' 4, 'pos' 4; validation: 'neg' 3, 'pos' 1, 'neutral' 1 of 5 -> 'neg', 3/5 = 0.600
    # (a ZeroR baseline fit on the training texts would predict 'neutral': 1/5)
    folder = tmp_path / "splits"
    folder.mkdir()
    train = ["neutral"] * 5 + ["neg"] * 4 + ["pos"] * 4
    valid = ["neg", "pos", "neutral", "neg", "neg"]
    for name, labels in (("train.csv", train), ("valid.csv", valid)):
        (folder / name).write_text("label,text\n" + "".join(f"{lab},a {lab} text\n" for lab in labels))
    capsys.readouterr()
    assert main(["train", "classify", "--data", str(folder), *SMALL, "--epochs", "1",
                 "--out", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out
    assert ("always predicting 'neg', the commonest validation label, scores 0.600 on the validation texts"
            in printed)
    result = json.loads(printed.strip().splitlines()[-1])
    assert result["majority_label"] == "neg" and result["valid_majority_accuracy"] == pytest.approx(3 / 5)
