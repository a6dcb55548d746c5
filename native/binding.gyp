{
  "targets": [
    {
      "target_name": "tesg_torch",
      "sources": ["src/addon.cc", "src/tensor.cc", "src/ops.cc", "src/loss.cc", "src/adamw.cc", "src/profile.cc", "src/segnet.cc", "src/unet.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "/usr/include/torch/csrc/api/include"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc!": ["-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-frtti", "-ffp-contract=off", "-Wno-unused-parameter"],
      "libraries": ["-ltorch", "-ltorch_cpu", "-lc10"]
    }
  ]
}
