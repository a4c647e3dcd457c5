"""Exact resume: a real training subprocess SIGKILLed at a random moment and resumed with
--resume ends with the same weights and optimiser state, bit for bit, as an uninterrupted run
(every task; one trial each by default, more with -m slow)."""

import random

import pytest

import kill_resume as kr


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return kr.make_fixtures(tmp_path_factory.mktemp("fx"))


def _trials(task, fixtures, root, n, seed):
    ref, ref_s = kr.reference(task, fixtures, root)
    rng = random.Random(seed)
    results = [kr.trial(task, fixtures, root, ref, ref_s, rng, f"t{i}") for i in range(n)]
    assert [r for r in results if not r["bitwise_equal"]] == []
    return results


# forecast, classify and translate in the slow set (CI time): the fast set checks their resumes are
# exact (test_forecast's, test_classify's and test_translate_cli's resume tests) without a SIGKILL;
# the slow set kills each, here and in test_many_kills_all_bitwise_equal
@pytest.mark.parametrize("task", [pytest.param(t, marks=pytest.mark.slow) if t != "lm" else t
                                  for t in kr.TASKS])
def test_killed_and_resumed_run_is_bitwise_equal(task, fixtures, tmp_path):
    _trials(task, fixtures, tmp_path, 1, seed=kr.TASKS.index(task))


@pytest.mark.slow
@pytest.mark.parametrize("task", kr.TASKS)
def test_many_kills_all_bitwise_equal(task, fixtures, tmp_path):
    results = _trials(task, fixtures, tmp_path, 6, seed=7)
    assert sum(r["killed"] for r in results) >= 4  # most kills land while it runs


@pytest.mark.slow
def test_reference_differs_when_a_setting_differs(fixtures, tmp_path):
    # the comparison can fail: another seed gives other weights
    ref, _ = kr.reference("forecast", fixtures, tmp_path)
    out = tmp_path / "other"
    args = kr.argv("forecast", fixtures, out)
    args[args.index("--seed") + 1] = "4"
    rc, _, err = kr.run(args)
    assert rc == 0, err
    assert not kr.bitwise_equal(kr.final_tensors(out), ref)
