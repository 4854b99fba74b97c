// libtorch's own op profiler (the Kineto-based one behind PyTorch's torch.profiler), for a .NET process: TorchSharp
// does not expose it. Built on its own against the libtorch that the process loads (bench/peers/profile.sh builds it
// inside tools/current-libtorch's root), loaded by MixFit.Bench's --profile mode, never by MixFit itself. Both sides
// of bench/peers then record the same events from the same libtorch, PyTorch's through torch.profiler.
#include <torch/csrc/autograd/profiler_kineto.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <set>

#define MIXFIT_EXPORT extern "C" __attribute__((visibility("default")))

namespace profiler = torch::autograd::profiler;
namespace impl = torch::profiler::impl;

// Starts recording every op (CPU activity) of this thread and the threads it launches. Returns 0, or 1 on failure.
MIXFIT_EXPORT int MixFit_op_profiler_start()
{
    try {
        profiler::prepareProfiler(impl::ProfilerConfig(impl::ProfilerState::KINETO), {impl::ActivityType::CPU});
        profiler::enableProfiler(impl::ProfilerConfig(impl::ProfilerState::KINETO), {impl::ActivityType::CPU});
        return 0;
    } catch (...) {
        return 1;
    }
}

// Stops recording and writes one line per event to `path`, tab-separated: name, thread, start and end in
// nanoseconds (the clock of the events). Returns the number of events, or -1 on failure.
MIXFIT_EXPORT int64_t MixFit_op_profiler_stop(const char* path)
{
    try {
        const std::unique_ptr<profiler::ProfilerResult> result = profiler::disableProfiler();
        std::ofstream out(path);
        int64_t count = 0;
        for (const auto& event : result->events()) {
            out << event.name() << '\t' << event.startThreadId() << '\t' << event.startNs() << '\t' << event.endNs() << '\n';
            ++count;
        }
        out.flush();
        return out ? count : -1;
    } catch (...) {
        return -1;
    }
}
