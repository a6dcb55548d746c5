// Where a training step's time goes: libtorch's (legacy, CPU) profiler around a region, folded into
// self and total milliseconds per op name (autograd's backward nodes included).
#include <torch/csrc/autograd/profiler_legacy.h>
#include <map>
#include <string>
#include <unordered_map>
#include "tensor.h"

namespace {
namespace prof = torch::autograd::profiler;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;
using prof::EventKind;

struct Stat {
  int64_t calls = 0;
  double selfUs = 0, totalUs = 0;
};
}  // namespace

Napi::Value ProfileStart(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    prof::enableProfilerLegacy(ProfilerConfig(ProfilerState::CPU));
    return info.Env().Undefined();
  });
}

/** Ends profiling; returns {name: {calls, selfMs, totalMs}}, self = total minus nested ops. */
Napi::Value ProfileStop(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    prof::thread_event_lists lists = prof::disableProfilerLegacy();
    std::map<std::string, Stat> stats;
    for (auto& events : lists) {
      // push/pop pairs nest per thread: a stack gives each range its children's time
      struct Open {
        const prof::LegacyEvent* ev;
        double childUs;
      };
      std::vector<Open> stack;
      for (const auto& e : events) {
        if (e.kind() == EventKind::PushRange) {
          stack.push_back({&e, 0});
        } else if (e.kind() == EventKind::PopRange && !stack.empty()) {
          Open o = stack.back();
          stack.pop_back();
          double us = o.ev->cpuElapsedUs(e);
          Stat& s = stats[o.ev->name()];
          s.calls++;
          s.totalUs += us;
          s.selfUs += us - o.childUs;
          if (!stack.empty()) stack.back().childUs += us;
        }
      }
    }
    Napi::Object out = Napi::Object::New(info.Env());
    for (const auto& [name, s] : stats) {
      Napi::Object o = Napi::Object::New(info.Env());
      o.Set("calls", double(s.calls));
      o.Set("selfMs", s.selfUs / 1000);
      o.Set("totalMs", s.totalUs / 1000);
      out.Set(name, o);
    }
    return out;
  });
}
