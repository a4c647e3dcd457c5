"""Import d2l 0.17.6 (the book's library) as a benchmark anchor, never as a dependency.

Install it into the benchmark environment without its pinned dependencies:

    pip install --no-deps d2l==0.17.6

`d2l/torch.py` imports torchvision, PIL, pandas, requests, IPython and matplotlib_inline
at the top although the chapter-8/9 code never uses them; those that are missing are
replaced by empty modules so that the functions we compare against can be imported.
"""

from __future__ import annotations

import sys
import types

_OPTIONAL = ("torchvision", "torchvision.transforms", "PIL", "PIL.Image", "pandas", "requests",
             "IPython", "IPython.display", "matplotlib_inline", "matplotlib_inline.backend_inline")


def load_d2l():
    """Return the `d2l.torch` module of the installed d2l wheel."""
    # torch._dynamo (imported lazily, e.g. by the first optimiser) probes these names with
    # importlib.util.find_spec, which fails on a module without a spec: import it first,
    # and give each stub a spec anyway.
    import importlib.machinery

    import torch._dynamo  # noqa: F401

    for name in _OPTIONAL:
        try:
            importlib.import_module(name)
        except ImportError:
            stub = types.ModuleType(name)
            stub.__spec__ = importlib.machinery.ModuleSpec(name, None)
            stub.Image = stub.transforms = stub.display = stub.backend_inline = stub
            sys.modules[name] = stub
    try:
        from d2l import torch as d2l
    except ImportError as exc:
        raise SystemExit(f"the anchor needs d2l 0.17.6: pip install --no-deps d2l==0.17.6 ({exc})")
    return d2l
