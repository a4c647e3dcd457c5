"""Lets FakeTensorMode run forward AND backward on device 'cuda' in a CPU-only torch build.

A CPU build has no device guard for CUDA (autograd's InputMetadata asks for one) and no
accelerator (autograd's InputBuffer::add asks for its current stream); this installs no-op
guards for CUDA and PrivateUse1 and names PrivateUse1 so that getAccelerator() finds one.
"""
import os
import types

import torch
from torch.utils.cpp_extension import load_inline

_SRC = r'''
#include <torch/extension.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
// Every stream is CUDA's default stream, so autograd never needs an event between two.
template <c10::DeviceType D>
struct QuietGuard : public c10::impl::NoOpDeviceGuardImpl<D> {
  c10::Stream cuda_stream() const {
    return c10::Stream(c10::Stream::DEFAULT, c10::Device(c10::DeviceType::CUDA, -1));
  }
  c10::Stream getStream(c10::Device) const noexcept override { return cuda_stream(); }
  c10::Stream exchangeStream(c10::Stream) const noexcept override { return cuda_stream(); }
  void record(void**, const c10::Stream&, const c10::DeviceIndex, const c10::EventFlag) const override {}
  void block(void*, const c10::Stream&) const override {}
  bool queryEvent(void*) const override { return true; }
  void destroyEvent(void*, const c10::DeviceIndex) const noexcept override {}
};
static QuietGuard<c10::DeviceType::CUDA> noop_cuda;
static QuietGuard<c10::DeviceType::PrivateUse1> noop_pu1;
void install() {
  auto& c = c10::impl::device_guard_impl_registry[static_cast<size_t>(c10::DeviceType::CUDA)];
  if (!c.load()) c.store(&noop_cuda);
  auto& p = c10::impl::device_guard_impl_registry[static_cast<size_t>(c10::DeviceType::PrivateUse1)];
  if (!p.load()) p.store(&noop_pu1);
}
'''


def install(build_dir=None):
    ext = load_inline("fake_cuda_guard3", cpp_sources=_SRC, functions=["install"],
                      build_directory=build_dir or os.environ.get("FAKE_CUDA_BUILD"), verbose=False)
    ext.install()
    torch.utils.rename_privateuse1_backend("fakeacc")
    mod = types.ModuleType("fakeacc")
    mod.is_available = lambda: False
    mod.device_count = lambda: 0
    mod.is_initialized = lambda: False
    torch._register_device_module("fakeacc", mod)
