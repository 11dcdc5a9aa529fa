/*
 * The smallest native part a FUSE server in JavaScript needs: mount a /dev/fuse connection, tell
 * the event loop when requests are waiting, and move bytes without exceptions. The protocol itself
 * (parsing requests, building replies) is TypeScript in src/fuse/kernel.
 *
 * Requests are read on the JavaScript thread when libuv reports the device readable: no thread
 * hand-off per request, which is where a libfuse binding spends most of its time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

extern char **environ;

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error(env, NULL, "layerfs fuse addon: " #call " failed");                         \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

static napi_value number(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}

static int get_string(napi_env env, napi_value value, char *out, size_t size) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, out, size, &length) != napi_ok) return -1;
  return length + 1 < size ? 0 : -1;
}

/* Receives the connection's file descriptor that fusermount3 sends over a socket. */
static int receive_fd(int sock) {
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
  ssize_t got;
  do got = recvmsg(sock, &msg, 0);
  while (got < 0 && errno == EINTR);
  if (got <= 0) return -1;
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
  return fd;
}

/* Runs fusermount3 (for users who may not mount) and returns the /dev/fuse descriptor it opened. */
static int mount_with_fusermount(const char *target, const char *options) {
  int socks[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, socks) < 0) return -errno;
  int child_end = dup(socks[1]); /* without CLOEXEC: fusermount3 inherits it */
  close(socks[1]);
  if (child_end < 0) {
    int error = errno;
    close(socks[0]);
    return -error;
  }
  char commfd[64];
  snprintf(commfd, sizeof(commfd), "_FUSE_COMMFD=%d", child_end);
  int count = 0;
  while (environ[count]) count++;
  char **env = calloc(count + 2, sizeof(char *));
  for (int i = 0; i < count; i++) env[i] = environ[i];
  env[count] = commfd;
  char *argv[] = {"fusermount3", "-o", (char *)options, "--", (char *)target, NULL};
  pid_t pid;
  int spawned = posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, env);
  free(env);
  close(child_end);
  if (spawned != 0) {
    close(socks[0]);
    return -spawned;
  }
  int fd = receive_fd(socks[0]);
  close(socks[0]);
  int status;
  waitpid(pid, &status, 0);
  if (fd < 0) return -EPERM;
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

/*
 * mount(target, fsname, options, flags) -> fd or -errno. As root the kernel is asked directly;
 * otherwise fusermount3 mounts and hands the connection back. `flags` are mount(2)'s MS_NOSUID
 * and MS_NODEV (both when absent, as fusermount3 always sets them for users).
 */
static napi_value mount_fuse(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char target[4096], fsname[256], options[2048];
  if (argc < 3 || get_string(env, argv[0], target, sizeof(target)) || get_string(env, argv[1], fsname, sizeof(fsname)) ||
      get_string(env, argv[2], options, sizeof(options))) {
    napi_throw_type_error(env, NULL, "mount(target, fsname, options, flags): three strings and a number expected");
    return NULL;
  }
  uint32_t flags = MS_NOSUID | MS_NODEV;
  if (argc >= 4) CHECK(napi_get_value_uint32(env, argv[3], &flags));
  flags &= MS_NOSUID | MS_NODEV;
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  int error = errno;
  if (fd >= 0) {
    char data[2300];
    snprintf(data, sizeof(data), "fd=%d,rootmode=40000,user_id=%u,group_id=%u%s%s", fd, getuid(), getgid(),
             options[0] ? "," : "", options);
    if (mount(fsname, target, "fuse.layerfs", flags, data) == 0) return number(env, fd);
    error = errno;
    close(fd);
  }
  /* Not allowed to open the device or to mount: the setuid fusermount3 does both for users. */
  if (error != EPERM && error != EACCES) return number(env, -error);
  char fusermount_options[2400];
  snprintf(fusermount_options, sizeof(fusermount_options), "fsname=%s,subtype=layerfs%s%s%s%s", fsname,
           flags & MS_NOSUID ? ",nosuid" : ",suid", flags & MS_NODEV ? ",nodev" : ",dev", options[0] ? "," : "", options);
  return number(env, mount_with_fusermount(target, fusermount_options));
}

/* unmount(target, lazy) -> 0 or -errno; falls back to fusermount3 -u for users who may not. */
static napi_value unmount_fuse(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char target[4096];
  bool lazy = false;
  if (argc < 1 || get_string(env, argv[0], target, sizeof(target))) {
    napi_throw_type_error(env, NULL, "unmount(target, lazy): a path expected");
    return NULL;
  }
  if (argc > 1) napi_get_value_bool(env, argv[1], &lazy);
  if (umount2(target, lazy ? MNT_DETACH : 0) == 0) return number(env, 0);
  if (errno != EPERM) return number(env, -errno);
  char *args[] = {"fusermount3", lazy ? "-uz" : "-u", "--", target, NULL};
  pid_t pid;
  /* Not allowed, and no fusermount3 to ask (fuse3 is not installed): still not allowed. */
  if (posix_spawnp(&pid, "fusermount3", NULL, NULL, args, environ) != 0) return number(env, -EPERM);
  int status;
  waitpid(pid, &status, 0);
  return number(env, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EBUSY);
}

static int get_fd(napi_env env, napi_value value) {
  int32_t fd = -1;
  napi_get_value_int32(env, value, &fd);
  return fd;
}

/* read(fd, buffer) -> bytes read, or -errno (-EAGAIN when no request waits). */
static napi_value read_request(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data;
  size_t length;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &length));
  ssize_t got;
  do got = read(get_fd(env, argv[0]), data, length);
  while (got < 0 && errno == EINTR);
  return number(env, got < 0 ? -errno : got);
}

/* write(fd, header, body?) -> 0 or -errno: one reply, header and body in one writev. */
static napi_value write_reply(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct iovec iov[2];
  int count = 0;
  for (size_t i = 1; i < argc && i < 3; i++) {
    bool is_buffer = false;
    napi_is_buffer(env, argv[i], &is_buffer);
    if (!is_buffer) continue;
    CHECK(napi_get_buffer_info(env, argv[i], &iov[count].iov_base, &iov[count].iov_len));
    count++;
  }
  ssize_t written;
  do written = writev(get_fd(env, argv[0]), iov, count);
  while (written < 0 && errno == EINTR);
  return number(env, written < 0 ? -errno : 0);
}

/*
 * A notification (the kernel's caches invalidated) is written on a libuv worker thread: the
 * kernel may block the write until requests it has queued are answered, which the JavaScript
 * thread does only once the write returns.
 */
typedef struct {
  napi_async_work work;
  int fd;
  size_t length;
  char bytes[];
} Notice;

static void notice_write(napi_env env, void *data) {
  Notice *notice = data;
  ssize_t written;
  do written = write(notice->fd, notice->bytes, notice->length);
  while (written < 0 && errno == EINTR);
  /* ENOENT: the kernel no longer knows the inode or name; nothing to invalidate. */
  close(notice->fd);
}

static void notice_done(napi_env env, napi_status status, void *data) {
  Notice *notice = data;
  napi_delete_async_work(env, notice->work);
  free(notice);
}

/* notify(fd, message) -> 0 or -errno: writes a notification in the background. */
static napi_value notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data;
  size_t length;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &length));
  Notice *notice = malloc(sizeof(Notice) + length);
  if (!notice) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  /* Its own descriptor: the session may close its one before the write runs. */
  notice->fd = fcntl(get_fd(env, argv[0]), F_DUPFD_CLOEXEC, 0);
  if (notice->fd < 0) {
    free(notice);
    return number(env, -errno);
  }
  notice->length = length;
  memcpy(notice->bytes, data, length);
  napi_value name;
  CHECK(napi_create_string_utf8(env, "layerfs:notify", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, notice_write, notice_done, notice, &notice->work));
  CHECK(napi_queue_async_work(env, notice->work));
  return number(env, 0);
}

/* A watch: calls back on the JavaScript thread whenever the device has requests to read. */
typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
} Watch;

static void on_readable(uv_poll_t *poll, int status, int events) {
  Watch *watch = poll->data;
  napi_env env = watch->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, global, result, arg = number(env, status);
  napi_get_reference_value(env, watch->callback, &callback);
  napi_get_global(env, &global);
  /* make_callback, not call_function: promises and nextTick queued by the handler run after. */
  napi_make_callback(env, watch->context, global, callback, 1, &arg, &result);
  napi_close_handle_scope(env, scope);
}

static void on_closed(uv_handle_t *handle) {
  Watch *watch = handle->data;
  napi_delete_reference(watch->env, watch->callback);
  napi_async_destroy(watch->env, watch->context);
  free(watch);
}

/* watch(fd, callback) -> a handle for unwatch; makes fd non-blocking. */
static napi_value watch_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd = get_fd(env, argv[0]);
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  Watch *watch = calloc(1, sizeof(Watch));
  watch->env = env;
  watch->poll.data = watch;
  napi_value name;
  CHECK(napi_create_string_utf8(env, "layerfs:fuse", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &watch->context));
  CHECK(napi_create_reference(env, argv[1], 1, &watch->callback));
  int error = uv_poll_init(loop, &watch->poll, fd);
  if (error == 0) error = uv_poll_start(&watch->poll, UV_READABLE, on_readable);
  if (error != 0) {
    napi_throw_error(env, NULL, uv_strerror(error));
    return NULL;
  }
  napi_value handle;
  CHECK(napi_create_external(env, watch, NULL, NULL, &handle));
  return handle;
}

/* unwatch(handle): stops the callbacks; the watch is freed once libuv has closed it. */
static napi_value unwatch_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Watch *watch;
  CHECK(napi_get_value_external(env, argv[0], (void **)&watch));
  if (!uv_is_closing((uv_handle_t *)&watch->poll)) {
    uv_poll_stop(&watch->poll);
    uv_close((uv_handle_t *)&watch->poll, on_closed);
  }
  return NULL;
}

/*
 * FUSE passthrough (kernel 6.9+, protocol 7.40): a backing file registered on the connection is
 * read and written by the kernel itself for the files opened with its id. Defined here because
 * older <linux/fuse.h> headers lack them.
 */
struct layerfs_backing_map {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
#define LAYERFS_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct layerfs_backing_map)
#define LAYERFS_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

/*
 * backingOpen(fd, path, writable) -> a backing id (> 0), or -errno. The file is opened read-only,
 * or read-write when `writable` is true (a private file the kernel writes a program's bytes to).
 */
static napi_value backing_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char file[4096];
  if (argc < 2 || get_string(env, argv[1], file, sizeof(file))) {
    napi_throw_type_error(env, NULL, "backingOpen(fd, path): a path expected");
    return NULL;
  }
  bool writable = false;
  if (argc > 2) napi_get_value_bool(env, argv[2], &writable);
  int backing = open(file, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (backing < 0) return number(env, -errno);
  struct layerfs_backing_map map = {.fd = backing, .flags = 0, .padding = 0};
  int id = ioctl(get_fd(env, argv[0]), LAYERFS_DEV_IOC_BACKING_OPEN, &map);
  int error = errno;
  /* The connection holds its own reference to the file now. */
  close(backing);
  return number(env, id < 0 ? -error : id);
}

/* backingClose(fd, id) -> 0 or -errno: open files keep the backing file; new opens cannot use the id. */
static napi_value backing_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t id = (uint32_t)get_fd(env, argv[1]);
  return number(env, ioctl(get_fd(env, argv[0]), LAYERFS_DEV_IOC_BACKING_CLOSE, &id) < 0 ? -errno : 0);
}

/* close(fd) -> 0 or -errno. */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  return number(env, close(get_fd(env, argv[0])) < 0 ? -errno : 0);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"mount", NULL, mount_fuse, NULL, NULL, NULL, napi_default, NULL},
      {"unmount", NULL, unmount_fuse, NULL, NULL, NULL, napi_default, NULL},
      {"read", NULL, read_request, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, write_reply, NULL, NULL, NULL, napi_default, NULL},
      {"watch", NULL, watch_fd, NULL, NULL, NULL, napi_default, NULL},
      {"unwatch", NULL, unwatch_fd, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"notify", NULL, notify, NULL, NULL, NULL, napi_default, NULL},
      {"backingOpen", NULL, backing_open, NULL, NULL, NULL, napi_default, NULL},
      {"backingClose", NULL, backing_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
