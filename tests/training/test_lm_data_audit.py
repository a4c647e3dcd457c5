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
