{
  "targets": [
    {
      "target_name": "layerfs_xattr",
      "sources": ["xattr.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
