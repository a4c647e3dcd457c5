"""Mutation-audit tests of step_products.py: the kernel probe's warning and its one probe, and the
ONEDNN = False switch on the MKL packed-weight path, against a plain matmul."""

import warnings

import pytest
import torch

from seqlab.models import accel, step_products


def test_a_working_kernel_is_probed_once_and_not_warned_about(monkeypatch):
    if not step_products._onednn_works():
        pytest.skip("this PyTorch build has no oneDNN linear kernel")
    monkeypatch.setattr(accel, "_warned", set())
    monkeypatch.setattr(step_products, "_onednn_state", [])
    real, calls = step_products._onednn_linear, []
    monkeypatch.setattr(step_products, "_onednn_linear", lambda *a: calls.append(1) or real(*a))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert step_products._onednn_works() and step_products._onednn_works()
    assert len(calls) == 1


def test_a_missing_kernel_falls_back_with_one_warning(monkeypatch):
    monkeypatch.setattr(accel, "_warned", set())
    monkeypatch.setattr(step_products, "_onednn_state", [])

    def missing(*args):
        raise RuntimeError("no such kernel")
    monkeypatch.setattr(step_products, "_onednn_linear", missing)
    with pytest.warns(RuntimeWarning, match="oneDNN's linear kernel is not available.*falling back"):
        assert not step_products._onednn_works()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not step_products._onednn_works()


def test_onednn_false_keeps_onednn_out_of_the_mkl_packed_steps(monkeypatch):
    if not step_products._mkl_packed_works():
        pytest.skip("this PyTorch build has no MKL packed-weight linear kernel")
    monkeypatch.setattr(step_products, "ONEDNN", False)
    monkeypatch.setattr(step_products, "MKL_PACKED", True)

    def refused(*args):
        raise AssertionError("oneDNN's kernel ran with ONEDNN = False")
    monkeypatch.setattr(step_products, "_onednn_linear", refused)
    torch.manual_seed(0)
    W, x, add = torch.randn(5, 8), torch.randn(3, 5), torch.randn(3, 8)
    f = step_products._stepper(W, 2.0)
    torch.testing.assert_close(f(x, add), 2 * (add + x @ W))
    torch.testing.assert_close(f(x), 2 * (x @ W))
