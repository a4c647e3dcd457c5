"""Lets FakeTensorMode run forward AND backward on device 'cuda' in a CPU-only torch build.

A CPU build has no device guard for CUDA (autograd's InputMetadata asks one for the stream) and no
accelerator (autograd's engine matches each node's stream to at::getAccelerator()): this installs a
no-op CUDA guard whose every stream is CUDA's default one (so no event is ever needed between two),
and gives the CPU build's CUDA hooks object the answers "built, present, one device" (its vtable
swapped for a subclass's with the same layout). torch.cuda.is_available() stays False, so
FakeTensorMode still makes no real device.
"""
import os
import traceback
from pathlib import Path
from unittest import mock

import torch
from torch.utils.cpp_extension import load_inline

ROOT = Path(__file__).resolve().parents[2]

_SRC = r'''
#include <torch/extension.h>
#include <cstring>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <ATen/detail/CUDAHooksInterface.h>
template <c10::DeviceType D>
struct QuietGuard : public c10::impl::NoOpDeviceGuardImpl<D> {
  c10::Stream cuda_stream() const {
    return c10::Stream(c10::Stream::DEFAULT, c10::Device(c10::DeviceType::CUDA, 0));
  }
  c10::Device exchangeDevice(c10::Device) const override { return c10::Device(c10::DeviceType::CUDA, 0); }
  c10::Device getDevice() const override { return c10::Device(c10::DeviceType::CUDA, 0); }
  c10::Stream getStream(c10::Device) const noexcept override { return cuda_stream(); }
  c10::Stream exchangeStream(c10::Stream) const noexcept override { return cuda_stream(); }
  void record(void**, const c10::Stream&, const c10::DeviceIndex, const c10::EventFlag) const override {}
  void block(void*, const c10::Stream&) const override {}
  bool queryEvent(void*) const override { return true; }
  void destroyEvent(void*, const c10::DeviceIndex) const noexcept override {}
};
static QuietGuard<c10::DeviceType::CUDA> noop_cuda;
// CUDA "is there": what at::getAccelerator() asks (autograd matches a node's stream to it)
struct PresentHooks : public at::CUDAHooksInterface {
  bool hasCUDA() const override { return true; }
  bool isAvailable() const override { return true; }
  bool isBuilt() const override { return true; }
  bool hasPrimaryContext(c10::DeviceIndex) const override { return true; }
  c10::DeviceIndex deviceCount() const override { return 1; }
  c10::DeviceIndex current_device() const override { return 0; }
};
bool install() {
  auto& c = c10::impl::device_guard_impl_registry[static_cast<size_t>(c10::DeviceType::CUDA)];
  if (!c.load()) c.store(&noop_cuda);
  const at::CUDAHooksInterface& hooks = at::detail::getCUDAHooks();
  static_assert(sizeof(PresentHooks) == sizeof(at::CUDAHooksInterface));
  PresentHooks present;
  std::memcpy((void*)&hooks, (void*)&present, sizeof(void*));  // its vtable: same layout, these answers
  return at::hasCUDA();
}
'''


def install(build_dir=None):
    ext = load_inline("fake_cuda_guard6", cpp_sources=_SRC, functions=["install"],
                      build_directory=build_dir or os.environ.get("FAKE_CUDA_BUILD"), verbose=False)
    return ext.install()


def caller_line() -> str:
    """The seqlab (or benchmark) line that made the current host read, as 'path:line code', the path
    relative to the repository: called from a device's dispatch, whose own frames are left out."""
    for fr in reversed(traceback.extract_stack()[:-3]):
        if "/seqlab/" in fr.filename or "/benchmarks/" in fr.filename and "fake_cuda" not in fr.filename:
            return f"{fr.filename.replace(str(ROOT) + os.sep, '')}:{fr.lineno} {fr.line}"
    return "?"


def patch_torch_cuda(stack) -> None:
    """Enter into `stack` (a contextlib.ExitStack) torch.cuda's answers for one present device:
    available, capability 9.0, bf16, its RNG state and memory figures, synchronize a no-op."""
    for name, val in [("is_available", lambda: True), ("device_count", lambda: 1),
                      ("get_device_capability", lambda *a: (9, 0)), ("synchronize", lambda *a: None),
                      ("current_device", lambda: 0), ("set_device", lambda *a: None),
                      ("is_bf16_supported", lambda *a, **k: True), ("get_device_name", lambda *a: "CudaLike"),
                      ("get_rng_state_all", lambda: [torch.zeros(8, dtype=torch.uint8)]),
                      ("set_rng_state_all", lambda s: None),
                      ("get_rng_state", lambda *a: torch.zeros(8, dtype=torch.uint8)),
                      ("set_rng_state", lambda *a: None), ("manual_seed", lambda *a: None), ("_lazy_init", lambda: None),
                      ("manual_seed_all", lambda *a: None), ("empty_cache", lambda: None),
                      ("max_memory_allocated", lambda *a: 0), ("reset_peak_memory_stats", lambda *a: None)]:
        stack.enter_context(mock.patch.object(torch.cuda, name, val))
    stack.enter_context(mock.patch.object(torch.Tensor, "pin_memory", lambda self, *a: self))
