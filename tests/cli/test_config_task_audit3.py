"""check_task's message, word by word (a mutation audit found only its opening pinned): which task a
file's keys make it, the keys listed and counted, a tie between tasks, a file of sections alone."""

import pytest

from seqlab.cli.config_task import _listed, check_task
from seqlab.errors import SeqlabError
from seqlab.training.forecast import ForecastConfig
from seqlab.training.lm import LMConfig


@pytest.mark.parametrize("names, said", [
    (["a"], "key a is"),
    (["a", "b"], "keys a, b are"),
    (["[x]"], "section [x] is"),
    (["[x]", "[y]"], "sections [x], [y] are"),
    (["[x]", "a"], "key a is"),  # keys shown where there are any, and the verb agrees with what is shown
    (list("abcdef"), "keys a, b, c, d, e, f are"),  # six: "and 1 more" would be no shorter
    (list("abcdefg"), "keys a, b, c, d, e and 2 more are"),
])
def test_listed_names_keys_before_sections_at_most_five_then_how_many_more(names, said):
    assert _listed(names) == said


def _refusal(cls, data) -> str:
    with pytest.raises(SeqlabError) as caught:
        check_task(cls, "f.toml", data)
    return str(caught.value)


def test_a_file_of_one_foreign_key_names_its_task_in_the_singular():
    assert _refusal(LMConfig, {"num_examples": 600}).startswith(
        "f.toml is a config for `seqlab train translate` (its key num_examples is translate's), not for "
        "`seqlab train lm`: use it with `seqlab train translate`, or give `seqlab train lm` a config of its own")


def test_a_section_and_a_key_of_another_task_read_as_one_key():
    # it said "its key length are forecast's": the verb counted the [series] section it did not show
    assert "(its key length is forecast's)" in _refusal(LMConfig, {"series": {"length": 5}})


def test_a_file_of_one_foreign_section_alone_is_that_sections_tasks():
    # sections count: an lm given forecast's empty [series] is told it is a forecast config
    assert "is a config for `seqlab train forecast` (its section [series] is forecast's)" in _refusal(
        LMConfig, {"series": {}})


def test_tasks_tied_on_the_same_keys_are_both_named():
    # cell and level: lm and classify both know them, forecast neither
    assert _refusal(ForecastConfig, {"cell": "gru", "level": "char"}).startswith(
        "f.toml is a config for `seqlab train lm` or `seqlab train classify` (its keys cell, level are lm's and "
        "classify's), not for `seqlab train forecast`")


def test_tasks_tied_on_different_keys_name_the_first_its_own_keys_listed_first():
    # lm knows cell and impl, classify cell and bucket: two each, but not the same two, so the first (lm)
    # is named; impl, lm's alone, is listed before cell, which classify has too
    assert "is a config for `seqlab train lm` (its keys impl, cell are lm's), not for `seqlab train forecast`" in \
        _refusal(ForecastConfig, {"cell": "gru", "impl": "fused", "bucket": True})


def test_a_foreign_section_beside_the_files_own_keys_is_left_to_the_section_check():
    # the key-by-key refusal is for keys ("config key ... is a setting of"); a section is config.from_dict's
    check_task(LMConfig, "f.toml", {"data": {"dataset": "timemachine"}, "model": {"cell": "gru", "hidden": 8},
                                    "series": {}})
