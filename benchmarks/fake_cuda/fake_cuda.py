"""Lets FakeTensorMode run forward AND backward on device 'cuda' in a CPU-only torch build.

A CPU build has no device guard for CUDA (autograd's InputMetadata asks one for the stream) and no
accelerator (autograd's engine matches each node's stream to at::getAccelerator()): this installs a
no-op CUDA guard whose every stream is CUDA's default one (so no event is ever needed between two),
and gives the CPU build's CUDA hooks object the answers "built, present, one device" (its vtable
swapped for a subclass's with the same layout). torch.cuda.is_available() stays False, so
FakeTensorMode still makes no real device.
"""
import os

from torch.utils.cpp_extension import load_inline

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
