/*
 * What Node's fs lacks for overlay-format directories: extended attributes (opaque marks,
 * redirects, file capabilities), mknod (a whiteout is a character device 0/0), and reading a
 * directory's entries with their lstat and xattr names in one call (a lower directory is read
 * when the union first looks into it, so this is on the path of a first find or ls). Every call
 * acts on the path itself, never on a symlink's target, and answers a negative errno instead of
 * throwing, so a caller tells ENODATA from a failure without exceptions.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error(env, NULL, "layerfs xattr addon: " #call " failed");                        \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

#define PATH_SIZE 4097
#define NAME_SIZE 256

static napi_value number(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}

static int get_string(napi_env env, napi_value value, char *out, size_t size) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, out, size, &length) != napi_ok) return -1;
  return length + 1 >= size ? -1 : 0;
}

/* lgetxattr(path, name) -> Buffer, or -errno (-ENODATA: no such attribute). */
static napi_value get_xattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[PATH_SIZE], name[NAME_SIZE];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_string(env, argv[0], path, sizeof path) || get_string(env, argv[1], name, sizeof name)) return number(env, -ENAMETOOLONG);
  for (;;) {
    ssize_t size = lgetxattr(path, name, NULL, 0);
    if (size < 0) return number(env, -errno);
    void *data;
    napi_value buffer;
    CHECK(napi_create_buffer(env, size, &data, &buffer));
    ssize_t got = lgetxattr(path, name, data, size);
    if (got >= 0) {
      if (got == size) return buffer;
      napi_value slice;
      CHECK(napi_create_buffer_copy(env, got, data, NULL, &slice));
      return slice;
    }
    if (errno != ERANGE) return number(env, -errno); /* ERANGE: it grew in between, ask again */
  }
}

/* llistxattr(path) -> names as a Buffer of NUL-terminated strings, or -errno. */
static napi_value list_xattr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[PATH_SIZE];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_string(env, argv[0], path, sizeof path)) return number(env, -ENAMETOOLONG);
  for (;;) {
    ssize_t size = llistxattr(path, NULL, 0);
    if (size < 0) return number(env, -errno);
    void *data;
    napi_value buffer;
    CHECK(napi_create_buffer(env, size, &data, &buffer));
    ssize_t got = llistxattr(path, data, size);
    if (got >= 0) {
      if (got == size) return buffer;
      napi_value slice;
      CHECK(napi_create_buffer_copy(env, got, data, NULL, &slice));
      return slice;
    }
    if (errno != ERANGE) return number(env, -errno);
  }
}

/* lsetxattr(path, name, value, flags) -> 0 or -errno. */
static napi_value set_xattr(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  char path[PATH_SIZE], name[NAME_SIZE];
  void *data;
  size_t length;
  int32_t flags;
  napi_typedarray_type type;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_string(env, argv[0], path, sizeof path) || get_string(env, argv[1], name, sizeof name)) return number(env, -ENAMETOOLONG);
  /* A view's own bytes (its offset applied): the value may be a slice of a larger buffer. */
  CHECK(napi_get_typedarray_info(env, argv[2], &type, &length, &data, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[3], &flags));
  return number(env, lsetxattr(path, name, data, length, flags) < 0 ? -errno : 0);
}

/* lremovexattr(path, name) -> 0 or -errno. */
static napi_value remove_xattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[PATH_SIZE], name[NAME_SIZE];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_string(env, argv[0], path, sizeof path) || get_string(env, argv[1], name, sizeof name)) return number(env, -ENAMETOOLONG);
  return number(env, lremovexattr(path, name) < 0 ? -errno : 0);
}

/* mknod(path, mode, major, minor) -> 0 or -errno. */
static napi_value make_node(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  char path[PATH_SIZE];
  uint32_t mode, major_number, minor_number;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_string(env, argv[0], path, sizeof path)) return number(env, -ENAMETOOLONG);
  CHECK(napi_get_value_uint32(env, argv[1], &mode));
  CHECK(napi_get_value_uint32(env, argv[2], &major_number));
  CHECK(napi_get_value_uint32(env, argv[3], &minor_number));
  return number(env, mknod(path, mode, makedev(major_number, minor_number)) < 0 ? -errno : 0);
}

/* The fixed part of a scandir record; the name and the xattr names (NUL-terminated each) follow. */
struct record {
  uint32_t mode, uid, gid, nlink;
  uint64_t dev, ino, rdev, size;
  int64_t atime_sec, mtime_sec, ctime_sec;
  uint32_t atime_nsec, mtime_nsec, ctime_nsec;
  uint16_t name_length, xattr_length;
};

/*
 * scandir(path) -> Buffer of records, one per entry but . and .. (struct record, then the name,
 * then llistxattr's names), or -errno. An entry gone between readdir and lstat is left out.
 */
static napi_value scan_dir(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[PATH_SIZE];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_string(env, argv[0], path, sizeof path)) return number(env, -ENAMETOOLONG);
  DIR *dir = opendir(path);
  if (dir == NULL) return number(env, -errno);
  int fd = dirfd(dir);
  size_t capacity = 64 * 1024, used = 0;
  char *out = malloc(capacity);
  char names[65536], full[PATH_SIZE + NAME_SIZE + 1];
  int failed = out == NULL ? ENOMEM : 0;
  struct dirent *entry;
  while (!failed && (errno = 0, entry = readdir(dir)) != NULL) {
    const char *name = entry->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      failed = errno;
      break;
    }
    snprintf(full, sizeof full, "%s/%s", path, name);
    ssize_t xattrs = llistxattr(full, names, sizeof names);
    if (xattrs < 0) {
      if (errno != ENOTSUP && errno != ENOENT) {
        failed = errno;
        break;
      }
      xattrs = 0;
    }
    size_t name_length = strlen(name);
    struct record record = {
        .mode = st.st_mode, .uid = st.st_uid, .gid = st.st_gid, .nlink = (uint32_t)st.st_nlink,
        .dev = st.st_dev, .ino = st.st_ino, .rdev = st.st_rdev, .size = (uint64_t)st.st_size,
        .atime_sec = st.st_atim.tv_sec, .mtime_sec = st.st_mtim.tv_sec, .ctime_sec = st.st_ctim.tv_sec,
        .atime_nsec = (uint32_t)st.st_atim.tv_nsec, .mtime_nsec = (uint32_t)st.st_mtim.tv_nsec, .ctime_nsec = (uint32_t)st.st_ctim.tv_nsec,
        .name_length = (uint16_t)name_length, .xattr_length = (uint16_t)xattrs,
    };
    size_t need = sizeof record + name_length + 1 + (size_t)xattrs;
    if (used + need > capacity) {
      while (used + need > capacity) capacity *= 2;
      char *grown = realloc(out, capacity);
      if (grown == NULL) {
        failed = ENOMEM;
        break;
      }
      out = grown;
    }
    memcpy(out + used, &record, sizeof record);
    memcpy(out + used + sizeof record, name, name_length + 1);
    memcpy(out + used + sizeof record + name_length + 1, names, (size_t)xattrs);
    used += need;
  }
  if (!failed && errno != 0) failed = errno;
  closedir(dir);
  if (failed) {
    free(out);
    return number(env, -failed);
  }
  napi_value buffer;
  napi_status status = napi_create_buffer_copy(env, used, out, NULL, &buffer);
  free(out);
  CHECK(status);
  return buffer;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"lgetxattr", NULL, get_xattr, NULL, NULL, NULL, napi_default, NULL},
      {"llistxattr", NULL, list_xattr, NULL, NULL, NULL, napi_default, NULL},
      {"lsetxattr", NULL, set_xattr, NULL, NULL, NULL, napi_default, NULL},
      {"lremovexattr", NULL, remove_xattr, NULL, NULL, NULL, napi_default, NULL},
      {"mknod", NULL, make_node, NULL, NULL, NULL, napi_default, NULL},
      {"scandir", NULL, scan_dir, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
