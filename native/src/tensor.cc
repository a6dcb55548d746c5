#include "tensor.h"
#include <cstring>

std::atomic<int64_t> TensorWrap::live{0};

namespace {
struct AddonData {
  Napi::FunctionReference ctor;
};
}  // namespace

Napi::Function TensorWrap::Define(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "Tensor",
                                  {
                                      InstanceAccessor<&TensorWrap::Shape>("shape"),
                                      InstanceAccessor<&TensorWrap::Disposed>("disposed"),
                                      InstanceAccessor<&TensorWrap::RequiresGrad>("requiresGrad"),
                                      InstanceMethod<&TensorWrap::ToFloat32>("toFloat32"),
                                      InstanceMethod<&TensorWrap::Item>("item"),
                                      InstanceMethod<&TensorWrap::Dispose>("dispose"),
                                      InstanceMethod<&TensorWrap::Grad>("grad"),
                                      InstanceMethod<&TensorWrap::ZeroGrad>("zeroGrad"),
                                      InstanceMethod<&TensorWrap::Backward>("backward"),
                                      InstanceMethod<&TensorWrap::Assign>("assign"),
                                  });
  auto* data = new AddonData();
  data->ctor = Napi::Persistent(fn);
  env.SetInstanceData<AddonData>(data);
  return fn;
}

Napi::Object TensorWrap::Make(Napi::Env env, at::Tensor t) {
  Napi::Object obj = env.GetInstanceData<AddonData>()->ctor.New({});
  Unwrap(obj)->set(std::move(t));
  return obj;
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {}

TensorWrap::~TensorWrap() { release(); }

void TensorWrap::set(at::Tensor t) {
  release();
  tensor_ = std::move(t);
  if (tensor_.defined()) live++;
}

void TensorWrap::release() {
  if (tensor_.defined()) live--;
  tensor_ = at::Tensor();
}

const at::Tensor& TensorWrap::get(Napi::Env env) const {
  if (!tensor_.defined()) throw Napi::Error::New(env, "tensor used after dispose()");
  return tensor_;
}

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) {
  const auto& t = get(info.Env());
  Napi::Array out = Napi::Array::New(info.Env(), t.dim());
  for (int64_t i = 0; i < t.dim(); i++) out.Set(uint32_t(i), Napi::Number::New(info.Env(), double(t.size(i))));
  return out;
}

Napi::Value TensorWrap::ToFloat32(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    at::Tensor t = get(info.Env()).detach().to(at::kFloat).contiguous();
    auto out = Napi::Float32Array::New(info.Env(), size_t(t.numel()));
    if (t.numel() > 0) std::memcpy(out.Data(), t.data_ptr<float>(), size_t(t.numel()) * sizeof(float));
    return out;
  });
}

Napi::Value TensorWrap::Item(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return Napi::Number::New(info.Env(), get(info.Env()).item<double>()); });
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  release();
  return info.Env().Undefined();
}

Napi::Value TensorWrap::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !tensor_.defined()); }

Napi::Value TensorWrap::RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), get(info.Env()).requires_grad());
}

/** The accumulated gradient (shares memory with it), or null before any backward. */
Napi::Value TensorWrap::Grad(const Napi::CallbackInfo& info) {
  const at::Tensor& g = get(info.Env()).grad();
  if (!g.defined()) return info.Env().Null();
  return Make(info.Env(), g);
}

Napi::Value TensorWrap::ZeroGrad(const Napi::CallbackInfo& info) {
  get(info.Env()).mutable_grad() = at::Tensor();
  return info.Env().Undefined();
}

/** backward(scale = 1): adds scale * d(this)/d(leaf) into every leaf's grad. */
Napi::Value TensorWrap::Backward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const at::Tensor& t = get(info.Env());
    double scale = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 1.0;
    t.backward(at::full_like(t, scale));
    return info.Env().Undefined();
  });
}

/** Overwrite the values (same element count) without recording it for autograd. */
Napi::Value TensorWrap::Assign(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const at::Tensor& t = get(info.Env());
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(info.Env(), "assign: expected a Float32Array");
    }
    auto data = info[0].As<Napi::Float32Array>();
    if (int64_t(data.ElementLength()) != t.numel()) {
      throw Napi::RangeError::New(info.Env(), "assign: " + std::to_string(data.ElementLength()) + " values for a tensor of " +
                                                  std::to_string(t.numel()));
    }
    if (t.scalar_type() != at::kFloat || !t.is_contiguous()) throw Napi::Error::New(info.Env(), "assign: needs a contiguous float32 tensor");
    std::memcpy(t.data_ptr<float>(), data.Data(), size_t(t.numel()) * sizeof(float));
    return info.Env().Undefined();
  });
}

const at::Tensor& tensorArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsObject()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a Tensor");
  }
  Napi::Object o = info[i].As<Napi::Object>();
  if (!o.InstanceOf(info.Env().GetInstanceData<AddonData>()->ctor.Value())) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a Tensor");
  }
  return TensorWrap::Unwrap(o)->get(info.Env());
}

std::optional<at::Tensor> optTensorArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  return tensorArg(info, i);
}

std::vector<at::Tensor> tensorListArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected Tensor[]");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  auto ctor = info.Env().GetInstanceData<AddonData>()->ctor.Value();
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(ctor)) throw Napi::TypeError::New(info.Env(), "expected Tensor[]");
    out.push_back(TensorWrap::Unwrap(v.As<Napi::Object>())->get(info.Env()));
  }
  return out;
}

std::vector<int64_t> shapeArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a shape");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out;
  for (uint32_t k = 0; k < arr.Length(); k++) out.push_back(arr.Get(k).As<Napi::Number>().Int64Value());
  return out;
}

double numberArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

int64_t intArg(const Napi::CallbackInfo& info, size_t i) { return int64_t(numberArg(info, i)); }
