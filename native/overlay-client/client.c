/*
 * layerfs-overlay's mount client: asks the user's layerfs overlay server (one Node process per
 * user and mount namespace, serving every union mounted this way) to mount, and exits once the
 * mount is live, or prints why it was refused. A mount then costs a socket round trip instead of
 * a Node start (about 60 ms here, where fuse-overlayfs mounts in 5 ms). The first mount starts
 * the server; it exits a while after its last mount is gone (LAYERFS_OVERLAY_LINGER seconds).
 *
 * Usage: layerfs-overlay-client MOUNT_ARGS..., as podman's mount_program (no shell in between) or
 * through bin/layerfs-overlay; the server command is then `$LAYERFS_NODE dist/cli/overlay-main.js`
 * of the package this program was built in, LAYERFS_NODE defaulting to the node that built it
 * (podman may run us with a PATH that has no node), or node on PATH if that one is gone. Or layerfs-overlay-client SERVER_COMMAND... -- MOUNT_ARGS... (from
 * source). The server listens on the socket named by LAYERFS_OVERLAY_SOCKET, then writes `ready`
 * on descriptor 3. `-f`, `-h` and `--help` run the server command in the foreground instead.
 *
 * The socket lives in ${TMPDIR:-/tmp}/layerfs-overlay-UID/ (mode 0700, owned by the user) and is
 * named by the mount namespace, as a server can only mount in its own, and by the server command.
 *
 * Request: the working directory and each argument, each ended by a NUL, then end of stream.
 * Reply: lines `warn TEXT`, then `ready` or `error TEXT`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *PREFIX = "layerfs overlay: ";

static int fail(const char *what) {
  fprintf(stderr, "%s%s: %s\n", PREFIX, what, strerror(errno));
  return 1;
}

/* The private directory of this user's servers, made if need be and checked to be ours alone. */
static int private_dir(char *dir, size_t size) {
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL || tmp[0] == '\0') tmp = "/tmp";
  if ((size_t)snprintf(dir, size, "%s/layerfs-overlay-%u", tmp, (unsigned)geteuid()) >= size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
  struct stat st;
  if (lstat(dir, &st) != 0) return -1;
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    fprintf(stderr, "%s%s is not a private directory of this user (mode 0700): refusing to use it\n", PREFIX, dir);
    errno = EPERM;
    return -1;
  }
  return 0;
}

static int connect_to(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strncpy(address.sun_path, path, sizeof address.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) == 0) return fd;
  int saved = errno;
  close(fd);
  errno = saved;
  return -1;
}

/* Starts the server in a session of its own and waits until it listens (or says why not). */
static int start_server(char **command, const char *socket_path, const char *log_path) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return fail("pipe");
  pid_t child = fork();
  if (child < 0) return fail("fork");
  if (child == 0) {
    /* In the child: nothing of the caller's stays open (podman waits on our output) or busy
     * (its working directory: requests carry their own). */
    setsid();
    if (chdir("/") != 0) _exit(127);
    int null = open("/dev/null", O_RDWR);
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
    dup2(null, 0);
    dup2(null, 1);
    dup2(log >= 0 ? log : null, 2);
    dup2(ready[1], 3); /* dup2 clears close-on-exec */
    setenv("LAYERFS_OVERLAY_SOCKET", socket_path, 1);
    setenv("LAYERFS_READY_FD", "3", 1);
    execvp(command[0], command);
    dprintf(3, "error cannot run %s: %s\n", command[0], strerror(errno));
    _exit(127);
  }
  close(ready[1]);
  char line[4096];
  size_t length = 0;
  ssize_t got;
  while (length < sizeof line - 1 && (got = read(ready[0], line + length, sizeof line - 1 - length)) != 0) {
    if (got < 0) {
      if (errno == EINTR) continue;
      break;
    }
    length += (size_t)got;
  }
  close(ready[0]);
  line[length] = '\0';
  if (strncmp(line, "ready", 5) == 0) return 0;
  if (strncmp(line, "error ", 6) == 0) {
    fprintf(stderr, "%s%s", PREFIX, line + 6);
  } else {
    waitpid(child, NULL, WNOHANG);
    fprintf(stderr, "%sthe server exited before it listened; see %s\n", PREFIX, log_path);
  }
  return 1;
}

/* Sends the request and relays the reply: 0 mounted, 1 refused, 2 no answer (the server left). */
static int ask(int fd, int argc, char **argv) {
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == NULL) return fail("getcwd");
  if (send(fd, cwd, strlen(cwd) + 1, MSG_NOSIGNAL) < 0) return 2;
  for (int at = 0; at < argc; at++) {
    if (send(fd, argv[at], strlen(argv[at]) + 1, MSG_NOSIGNAL) < 0) return 2;
  }
  shutdown(fd, SHUT_WR);
  FILE *reply = fdopen(fd, "r");
  if (reply == NULL) return fail("fdopen");
  char *line = NULL;
  size_t size = 0;
  int result = 2;
  while (getline(&line, &size, reply) > 0) {
    if (strncmp(line, "warn ", 5) == 0) {
      fprintf(stderr, "%s%s", PREFIX, line + 5);
    } else if (strncmp(line, "ready", 5) == 0) {
      result = 0;
      break;
    } else if (strncmp(line, "error ", 6) == 0) {
      fprintf(stderr, "%s%s", PREFIX, line + 6);
      result = 1;
      break;
    }
  }
  free(line);
  fclose(reply);
  return result;
}

/* The package's server command: node and dist/cli/overlay-main.js, three levels above this program. */
#ifndef LAYERFS_BUILT_BY_NODE
#define LAYERFS_BUILT_BY_NODE "node"
#endif
static char **package_command(void) {
  static char main_path[PATH_MAX];
  static char *command[3];
  char self[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length < 0) return NULL;
  self[length] = '\0';
  for (int up = 0; up < 4; up++) {
    char *slash = strrchr(self, '/');
    if (slash == NULL) return NULL;
    *slash = '\0';
  }
  if ((size_t)snprintf(main_path, sizeof main_path, "%s/dist/cli/overlay-main.js", self) >= sizeof main_path) return NULL;
  const char *node = getenv("LAYERFS_NODE");
  if (node == NULL || node[0] == '\0') node = access(LAYERFS_BUILT_BY_NODE, X_OK) == 0 ? LAYERFS_BUILT_BY_NODE : "node";
  command[0] = (char *)node;
  command[1] = main_path;
  command[2] = NULL;
  return command;
}

int main(int argc, char **argv) {
  int split = 1;
  while (split < argc && strcmp(argv[split], "--") != 0) split++;
  char **command;
  if (split < argc) {
    if (split == 1) {
      fprintf(stderr, "usage: %s [SERVER_COMMAND... --] MOUNT_ARGS...\n", argv[0]);
      return 2;
    }
    argv[split] = NULL;
    command = argv + 1;
  } else {
    command = package_command();
    if (command == NULL) return fail("cannot find dist/cli/overlay-main.js from /proc/self/exe");
    split = 0;
  }
  /* Help and foreground serving are the server command's own. */
  for (int at = split + 1; at < argc; at++) {
    if (strcmp(argv[at], "-f") == 0 || strcmp(argv[at], "-h") == 0 || strcmp(argv[at], "--help") == 0) {
      int count = 0;
      while (command[count] != NULL) count++;
      char **all = calloc((size_t)(count + argc - split), sizeof *all);
      if (all == NULL) return fail("calloc");
      memcpy(all, command, (size_t)count * sizeof *all);
      memcpy(all + count, argv + split + 1, (size_t)(argc - split - 1) * sizeof *all);
      execvp(all[0], all);
      return fail(all[0]);
    }
  }

  char dir[PATH_MAX - 64], socket_path[PATH_MAX], lock_path[PATH_MAX], log_path[PATH_MAX], ns[64];
  if (private_dir(dir, sizeof dir) != 0) return errno == EPERM ? 1 : fail("the server's directory");
  ssize_t ns_length = readlink("/proc/self/ns/mnt", ns, sizeof ns - 1);
  if (ns_length < 0) return fail("/proc/self/ns/mnt");
  ns[ns_length] = '\0';
  unsigned long long ns_id = 0;
  sscanf(ns, "mnt:[%llu]", &ns_id);
  /* Each installed copy (server command) has a server of its own: versions never serve each other's mounts. */
  unsigned long long key = 1469598103934665603ULL;
  for (char **part = command; *part != NULL; part++) {
    for (const char *c = *part; ; c++) {
      key = (key ^ (unsigned char)*c) * 1099511628211ULL;
      if (*c == '\0') break;
    }
  }
  snprintf(socket_path, sizeof socket_path, "%s/mnt-%llu-%016llx.sock", dir, ns_id, key);
  snprintf(lock_path, sizeof lock_path, "%s/mnt-%llu-%016llx.lock", dir, ns_id, key);
  snprintf(log_path, sizeof log_path, "%s.log", dir);
  if (strlen(socket_path) >= sizeof((struct sockaddr_un *)0)->sun_path) {
    fprintf(stderr, "%sthe socket path %s is too long: set TMPDIR to a shorter directory\n", PREFIX, socket_path);
    return 1;
  }

  /* Twice at most: a server that was leaving as we connected closes without an answer. */
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = connect_to(socket_path);
    if (fd < 0) {
      /* One starter at a time; whoever waited finds the server the first one started. */
      int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (lock < 0 || flock(lock, LOCK_EX) != 0) return fail(lock_path);
      fd = connect_to(socket_path);
      if (fd < 0) {
        if (start_server(command, socket_path, log_path) != 0) return 1;
        fd = connect_to(socket_path);
      }
      close(lock);
      if (fd < 0) return fail(socket_path);
    }
    int result = ask(fd, argc - split - 1, argv + split + 1);
    if (result != 2) return result;
  }
  fprintf(stderr, "%sthe server closed the connection without an answer; see %s\n", PREFIX, log_path);
  return 1;
}
