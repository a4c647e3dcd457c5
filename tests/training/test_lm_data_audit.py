"""Mutation-audit additions for seqlab.training.lm_data: what the existing tests let through."""

from seqlab.data.corpora import load_lm_corpus
from seqlab.training.lm import LMConfig
from seqlab.training.lm_data import data_config_for, load_corpus


def test_an_empty_data_config_records_every_option_the_corpus_was_built_with(tmp_path):
    # the checkpoint's record must read the same text again (a resume): a --max-vocab left out would
    # give the whole vocabulary and a refused resume ("another vocabulary")
    text = tmp_path / "t.txt"
    text.write_text(" ".join(f"w{i % 13} w{i % 7}" for i in range(200)) + "\n")
    corpus = load_lm_corpus(data=str(text), level="word", max_tokens=150, min_freq=2, max_size=5)
    data = data_config_for(LMConfig(), corpus).data
    assert (data.data, data.level, data.max_tokens, data.min_freq, data.max_vocab) == (str(text), "word", 150, 2, 5)
    again = load_corpus(LMConfig(data=data))
    assert again.vocab == corpus.vocab and again.train.tolist() == corpus.train.tolist()


def test_a_config_naming_the_corpus_at_another_level_is_refused(tmp_path):
    # the run would record char level for a word-level corpus: evaluate and generate would read it wrong
    import dataclasses

    import pytest

    from seqlab.errors import SeqlabError

    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat\n" * 30)
    corpus = load_lm_corpus(data=str(text), level="word")
    cfg = LMConfig()
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, data=str(text), level="char"))
    with pytest.raises(SeqlabError, match=r"the config's data \(t\.txt, char level\) is not the corpus given "
                                          r"\(t\.txt, word level\)"):
        data_config_for(cfg, corpus)


def test_the_unseen_unk_note_needs_the_training_share_known():
    # train_share None (a run that did not record it): not said; 0 (training held no <unk>): said
    from seqlab.training.lm_data import unk_note

    assert unk_note(0.01, 0.01, None, 100) is None
    assert unk_note(0.01, 0.01, 0.0, 100).startswith("the training tokens hold no <unk>")


def test_written_unk_alone_are_no_vocabulary_warning():
    # PTB writes "<unk>" for its rare words: 8% of the targets are <unk> but only 2% for want of vocabulary,
    # which is below UNK_WARN (5%): nothing to say
    from seqlab.training.lm_data import UNK_WARN, unk_note

    assert 0.02 <= UNK_WARN < 0.08
    assert unk_note(0.08, 0.02, 0.04, 1000) is None


def test_shares_that_show_as_the_same_percentage_are_said_once():
    # a few "<unk>" written in the text move the whole share by less than the 0.1% shown: one figure, not
    # "6.0% ... (unk_rate 6.0% counts the <unk> written in the text too)"
    from seqlab.training.lm_data import unk_note

    note = unk_note(0.06001, 0.06, 0.01, 100)
    assert note.startswith("6.0% of the held-out tokens are <unk> (outside the 100-token vocabulary): ")
    assert "counts the <unk> written" not in note


def test_another_vocabulary_holding_a_cr_too_is_called_another_vocabulary():
    # the Windows line-end message is for a saved "\r" token the data no longer gives; where the data gives
    # one too, the vocabularies differ otherwise: the plain message, with both sizes
    from pathlib import Path

    import pytest

    from seqlab.data.corpora import LMCorpus
    from seqlab.data.vocab import Vocab
    from seqlab.errors import SeqlabError
    from seqlab.training.checkpoint import Checkpoint
    from seqlab.training.lm_data import check_compatible

    saved, now = Vocab(list("ab\r")), Vocab(list("abc\r"))
    assert "\r" in saved and "\r" in now and saved != now
    ckpt = Checkpoint(model={}, meta={"vocab": saved.to_dict()}, path=Path("run/best.safetensors"))
    corpus = LMCorpus(name="t.txt", level="char", vocab=now, train=None, valid=None)
    with pytest.raises(SeqlabError, match=rf"trained with another vocabulary \({len(saved)} tokens\) than this "
                                          rf"data gives \({len(now)}\)"):
        check_compatible(ckpt, corpus)


def test_the_unseen_unk_note_on_a_scored_file_speaks_of_its_perplexity_not_a_held_out_one():
    from seqlab.training.lm_data import unk_note

    on_file = unk_note(0.02, 0.02, 0.0, 100, scored="f.txt")
    assert "of the tokens of 'f.txt' are <unk>" in on_file and "inflate the perplexity;" in on_file
    assert "held-out" not in on_file
    assert "inflate the held-out perplexity;" in unk_note(0.02, 0.02, 0.0, 100)


def test_the_folder_note_lists_up_to_five_other_entries_and_says_more_past_five(tmp_path):
    from seqlab.data.corpora import LMCorpus
    from seqlab.data.vocab import Vocab
    from seqlab.training.lm_data import folder_note

    for name in ("train.txt", "valid.txt", "a.txt", "b.txt", "c.txt", "d.txt"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "e").mkdir()
    corpus = LMCorpus(name="data", level="char", vocab=Vocab(list("x")), train=None, valid=None,
                      source={"path": str(tmp_path), "files": {"train.txt": "", "valid.txt": ""}})
    five = folder_note(corpus)
    assert five.startswith(f"data: read train.txt, valid.txt of the folder {str(tmp_path)!r}; not read: "
                           "a.txt, b.txt, c.txt, d.txt, e/ (a folder's splits")
    (tmp_path / "f.txt").write_text("x\n")
    assert "not read: a.txt, b.txt, c.txt, d.txt, e/, ... (a folder's" in folder_note(corpus)


def test_a_scored_files_vocabulary_advice_names_the_runs_min_freq(tmp_path):
    # the run's vocabulary kept the words seen twice (--min-freq 2): c, d and e, seen once, are <unk>;
    # the advice on the scored file names that option and its value, not both options
    import dataclasses

    from seqlab.data.vocab import Vocab
    from seqlab.training.lm_data import read_scored_text

    vocab = Vocab("a a a b b b c d e".split(), min_freq=2)
    cfg = LMConfig()
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, level="word", min_freq=2))
    (tmp_path / "s.txt").write_text("a b c d e a b a b\n")
    [note] = read_scored_text(str(tmp_path / "s.txt"), cfg, vocab, train_share=0.1).warnings
    assert ("; a lower --min-freq (now 2) keeps more of the training text's words (3 of its 5 distinct words are "
            "outside the vocabulary)") in note
