// The JS handle of a torch tensor, and the helpers every binding uses to read arguments.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <atomic>
#include <optional>
#include <vector>

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  /** A new JS handle owning `t` (one more reference to its storage). */
  static Napi::Object Make(Napi::Env env, at::Tensor t);
  /** Handles that still hold a tensor: the leak check of the tests. */
  static std::atomic<int64_t> live;

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;
  const at::Tensor& get(Napi::Env env) const;
  void set(at::Tensor t);
  void release();

 private:
  at::Tensor tensor_;
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value ToFloat32(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value Grad(const Napi::CallbackInfo& info);
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value Assign(const Napi::CallbackInfo& info);
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);
};

/** The tensor of argument i (an error if it is not a live handle). */
const at::Tensor& tensorArg(const Napi::CallbackInfo& info, size_t i);
/** Argument i as a tensor, or nullopt when it is null/undefined. */
std::optional<at::Tensor> optTensorArg(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> tensorListArg(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> shapeArg(const Napi::CallbackInfo& info, size_t i);
double numberArg(const Napi::CallbackInfo& info, size_t i);
int64_t intArg(const Napi::CallbackInfo& info, size_t i);

/** Runs a binding body, turning c10 and std exceptions into JS errors. */
template <class F>
Napi::Value guarded(const Napi::CallbackInfo& info, F body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what());
  }
}
