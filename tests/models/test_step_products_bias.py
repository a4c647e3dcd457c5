"""`_stepper(W, scale, bias)`: the step product with a bias added by its own kernel (the GRU's
H W_h + b_h), on each CPU kernel it may take, against the same sum in float64."""

import pytest
import torch

from seqlab.models import step_products

KERNELS = {"onednn": (True, False), "mkl-packed": (False, True), "addmm": (False, False)}


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_the_bias_is_added_once_scaled_with_or_without_add_and_out(kernel, scale, monkeypatch):
    onednn, mkl = KERNELS[kernel]
    if (onednn and not step_products._onednn_works()) or (mkl and not step_products._mkl_packed_works()):
        pytest.skip(f"this PyTorch build has no {kernel} kernel")
    monkeypatch.setattr(step_products, "ONEDNN", onednn)
    monkeypatch.setattr(step_products, "MKL_PACKED", mkl)
    g = torch.Generator().manual_seed(0)
    W, b = torch.randn(6, 9, generator=g), torch.randn(9, generator=g)
    x, add = torch.randn(4, 6, generator=g), torch.randn(4, 9, generator=g)
    step = step_products._stepper(W, scale, bias=b)
    x64, W64, b64, add64 = x.double(), W.double(), b.double(), add.double()
    tol = dict(rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(step(x).double(), scale * (x64 @ W64 + b64), **tol)
    torch.testing.assert_close(step(x, add).double(), scale * (add64 + x64 @ W64 + b64), **tol)
    out = torch.empty(4, 9)
    assert step(x, out=out) is out
    torch.testing.assert_close(out.double(), scale * (x64 @ W64 + b64), **tol)
    for rows in (4, 3):  # MKL's weight packed for each batch size met
        torch.testing.assert_close(step(x[:rows]).double(), scale * (x64[:rows] @ W64 + b64), **tol)
