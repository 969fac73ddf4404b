{
  "targets": [
    {
      "target_name": "fastwalk",
      "sources": ["fastwalk.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-ffp-contract=off", "-pthread"],
      "ldflags": ["-pthread"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O2", "-ffp-contract=off"] },
      "conditions": [["OS=='win'", { "type": "none" }]]
    }
  ]
}
