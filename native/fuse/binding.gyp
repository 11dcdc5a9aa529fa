{
  "targets": [
    {
      "target_name": "layerfs_fuse",
      "sources": ["fuse_device.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
