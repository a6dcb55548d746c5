// The N-API surface of the libtorch backend (loaded by src/runtime/torch.ts). Every function takes
// and returns Tensor handles; the maths lives in ops.cc, loss.cc and adamw.cc.
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/version.h>
#include "ops.h"
#include "tensor.h"

Napi::Value ProfileStart(const Napi::CallbackInfo& info);
Napi::Value ProfileStop(const Napi::CallbackInfo& info);

namespace {
using tesg::OptT;

Napi::Value Wrap(Napi::Env env, at::Tensor t) { return TensorWrap::Make(env, std::move(t)); }

/** Argument i as a number, or `fallback` when it is absent, null or undefined. */
double optNumberArg(const Napi::CallbackInfo& info, size_t i, double fallback) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return fallback;
  return numberArg(info, i);
}

/** Registers `name` as a binding whose body returns one tensor. */
template <class F>
void def(Napi::Env env, Napi::Object exports, const char* name, F f) {
  exports.Set(name, Napi::Function::New(env, [f](const Napi::CallbackInfo& info) -> Napi::Value {
                return guarded(info, [&]() -> Napi::Value { return Wrap(info.Env(), f(info)); });
              }, name));
}

Napi::Value FromFloat32(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(info.Env(), "fromFloat32: expected a Float32Array");
    }
    auto data = info[0].As<Napi::Float32Array>();
    std::vector<int64_t> shape = shapeArg(info, 1);
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    if (n != int64_t(data.ElementLength())) {
      throw Napi::RangeError::New(info.Env(), "fromFloat32: " + std::to_string(data.ElementLength()) + " values for a shape of " +
                                                  std::to_string(n));
    }
    at::Tensor t = at::empty(shape, at::kFloat);
    if (n > 0) std::memcpy(t.data_ptr<float>(), data.Data(), size_t(n) * sizeof(float));
    if (info.Length() > 2 && info[2].ToBoolean()) t.requires_grad_(true);
    return Wrap(info.Env(), t);
  });
}

Napi::Value FusionLoss(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Array w = info[4].As<Napi::Array>();
    double weights[4];
    for (uint32_t i = 0; i < 4; i++) weights[i] = w.Get(i).As<Napi::Number>().DoubleValue();
    tesg::LossTerms t = tesg::fusionLoss(tensorArg(info, 0), info[1].ToBoolean(), tensorArg(info, 2), tensorArg(info, 3), weights);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("total", Wrap(info.Env(), t.total));
    out.Set("ssim", Wrap(info.Env(), t.ssim));
    out.Set("intensity", Wrap(info.Env(), t.intensity));
    out.Set("gradient", Wrap(info.Env(), t.gradient));
    out.Set("color", Wrap(info.Env(), t.color));
    return out;
  });
}

/** sqrt of the sum of squares of every parameter's gradient (in double). */
Napi::Value GradNorm(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    double sum = 0;
    for (const at::Tensor& p : tensorListArg(info, 0)) {
      if (p.grad().defined()) sum += p.grad().to(at::kDouble).square().sum().item<double>();
    }
    return Napi::Number::New(info.Env(), std::sqrt(sum));
  });
}

Napi::Value AdamWStep(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Object k = info[3].As<Napi::Object>();
    auto num = [&](const char* key) {
      Napi::Value v = k.Get(key);
      if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("adamwStep: constant '") + key + "' missing");
      return v.As<Napi::Number>().DoubleValue();
    };
    tesg::AdamWConstants c{num("beta1"), num("oneMinusBeta1"), num("beta2"), num("oneMinusBeta2"), num("bc1"),
                           num("bc2"),   num("decay"),         num("lr"),    num("eps")};
    tesg::adamwStep(tensorListArg(info, 0), tensorListArg(info, 1), tensorListArg(info, 2), c);
    return info.Env().Undefined();
  });
}

/**
 * Intra-op threads of libtorch and of the BLAS under it. Debian's libtorch calls the generic
 * libblas.so.3; when OpenBLAS provides it, OpenBLAS runs its own thread pool sized to every core
 * unless told otherwise, so the thread count is passed to it too (found at run time: absent with
 * the reference BLAS).
 */
void setThreads(int n, int blas) {
  at::set_num_threads(n);
  using SetFn = void (*)(int);
  if (auto f = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(blas);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Tensor", TensorWrap::Define(env));
  exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  exports.Set("setNumThreads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                int n = int(intArg(info, 0));
                setThreads(n, info.Length() > 1 && info[1].IsNumber() ? int(intArg(info, 1)) : n);
                return info.Env().Undefined();
              }));
  exports.Set("numThreads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                return Napi::Number::New(info.Env(), at::get_num_threads());
              }));
  exports.Set("liveTensors", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                return Napi::Number::New(info.Env(), double(TensorWrap::live));
              }));
  exports.Set("setGradEnabled", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                bool before = c10::GradMode::is_enabled();
                c10::GradMode::set_enabled(info[0].ToBoolean());
                return Napi::Boolean::New(info.Env(), before);
              }));
  exports.Set("fromFloat32", Napi::Function::New(env, FromFloat32));
  exports.Set("fusionLoss", Napi::Function::New(env, FusionLoss));
  exports.Set("gradNorm", Napi::Function::New(env, GradNorm));
  exports.Set("adamwStep", Napi::Function::New(env, AdamWStep));
  exports.Set("profileStart", Napi::Function::New(env, ProfileStart));
  exports.Set("profileStop", Napi::Function::New(env, ProfileStop));

  def(env, exports, "scalar", [](const Napi::CallbackInfo& i) { return at::scalar_tensor(numberArg(i, 0), at::kFloat); });
  def(env, exports, "conv2d", [](const Napi::CallbackInfo& i) {
    return tesg::conv2d(tensorArg(i, 0), tensorArg(i, 1), optTensorArg(i, 2), intArg(i, 3));
  });
  def(env, exports, "depthwiseConv2d", [](const Napi::CallbackInfo& i) {
    return tesg::depthwiseConv2d(tensorArg(i, 0), tensorArg(i, 1), optTensorArg(i, 2), intArg(i, 3));
  });
  def(env, exports, "downConv", [](const Napi::CallbackInfo& i) {
    return tesg::downConv(tensorArg(i, 0), tensorArg(i, 1), optTensorArg(i, 2));
  });
  def(env, exports, "upsample2x", [](const Napi::CallbackInfo& i) { return tesg::upsample2x(tensorArg(i, 0)); });
  def(env, exports, "maxPool", [](const Napi::CallbackInfo& i) { return tesg::maxPool(tensorArg(i, 0), intArg(i, 1)); });
  def(env, exports, "add", [](const Napi::CallbackInfo& i) { return tensorArg(i, 0) + tensorArg(i, 1); });
  def(env, exports, "sub", [](const Napi::CallbackInfo& i) { return tensorArg(i, 0) - tensorArg(i, 1); });
  def(env, exports, "mul", [](const Napi::CallbackInfo& i) { return tensorArg(i, 0) * tensorArg(i, 1); });
  def(env, exports, "sigmoid", [](const Napi::CallbackInfo& i) { return at::sigmoid(tensorArg(i, 0)); });
  def(env, exports, "relu", [](const Napi::CallbackInfo& i) { return at::relu(tensorArg(i, 0)); });
  def(env, exports, "gelu", [](const Napi::CallbackInfo& i) { return tesg::gelu(tensorArg(i, 0)); });
  // layerNorm(x, w, b, eps?) and channelAttention(q, k, v, t, heads, eps?): eps from the model config
  // (norm_eps, attn_eps); absent = tesg-v1's. epsArgs tells src/runtime/torch.ts this build takes them.
  exports.Set("epsArgs", Napi::Boolean::New(env, true));
  def(env, exports, "layerNorm", [](const Napi::CallbackInfo& i) {
    return tesg::layerNorm(tensorArg(i, 0), tensorArg(i, 1), optTensorArg(i, 2), optNumberArg(i, 3, tesg::kDefaultLayerNormEps));
  });
  def(env, exports, "linear", [](const Napi::CallbackInfo& i) {
    return tesg::linear(tensorArg(i, 0), tensorArg(i, 1), optTensorArg(i, 2));
  });
  def(env, exports, "concat", [](const Napi::CallbackInfo& i) { return at::cat(tensorListArg(i, 0), intArg(i, 1)); });
  def(env, exports, "slice", [](const Napi::CallbackInfo& i) {
    return tensorArg(i, 0).narrow(intArg(i, 1), intArg(i, 2), intArg(i, 3));
  });
  def(env, exports, "channelAttention", [](const Napi::CallbackInfo& i) {
    return tesg::channelAttention(tensorArg(i, 0), tensorArg(i, 1), tensorArg(i, 2), tensorArg(i, 3), intArg(i, 4),
                                  optNumberArg(i, 5, tesg::kDefaultL2Eps));
  });
  def(env, exports, "tokenAttention", [](const Napi::CallbackInfo& i) {
    return tesg::tokenAttention(tensorArg(i, 0), tensorArg(i, 1), tensorArg(i, 2), intArg(i, 3));
  });
  def(env, exports, "rgbToY", [](const Napi::CallbackInfo& i) { return tesg::rgbToY(tensorArg(i, 0)); });
  def(env, exports, "ssim", [](const Napi::CallbackInfo& i) { return tesg::ssim(tensorArg(i, 0), tensorArg(i, 1)); });
  def(env, exports, "sobelMagnitude", [](const Napi::CallbackInfo& i) { return tesg::sobelMagnitude(tensorArg(i, 0)); });
  def(env, exports, "convSame", [](const Napi::CallbackInfo& i) {
    return tesg::convSame(tensorArg(i, 0), tensorArg(i, 1), optTensorArg(i, 2), intArg(i, 3));
  });
  def(env, exports, "maxPool2", [](const Napi::CallbackInfo& i) { return tesg::maxPool2(tensorArg(i, 0)); });
  def(env, exports, "resizeBilinear", [](const Napi::CallbackInfo& i) {
    return tesg::resizeBilinear(tensorArg(i, 0), intArg(i, 1), intArg(i, 2));
  });
  exports.Set("segLoss", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                return guarded(info, [&]() -> Napi::Value {
                  tesg::SegLoss r = tesg::segLoss(tensorArg(info, 0), tensorArg(info, 1));
                  Napi::Object out = Napi::Object::New(info.Env());
                  out.Set("loss", Wrap(info.Env(), r.loss));
                  out.Set("accuracy", Wrap(info.Env(), r.accuracy));
                  return out;
                });
              }));
  def(env, exports, "sum", [](const Napi::CallbackInfo& i) { return tensorArg(i, 0).sum(); });
  return exports;
}
}  // namespace

NODE_API_MODULE(tesg_torch, Init)
