/*
 * subreaper COMMAND [ARGS...]: runs COMMAND as a child subreaper, reaping every orphan that lands
 * here, and exits with COMMAND's status. podman's conmon double-forks; where PID 1 does not reap
 * (some sandboxes), its zombie makes `podman run` wait 20 s for a conmon that already exited.
 */
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  pid_t child = fork();
  if (child == 0) {
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    _exit(127);
  }
  int status = 0;
  for (;;) {
    int reaped;
    pid_t pid = wait(&reaped);
    if (pid < 0) break;
    if (pid == child) {
      status = reaped;
      break;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
