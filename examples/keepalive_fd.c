/* Go's runtime.KeepAlive example, in C.  An object owns a file descriptor
 * and a finalizer closes it.  read_all() uses only the descriptor after the
 * last use of the object, so with precise maps the object may be collected,
 * and the descriptor closed, while the reads are still going on.
 * preempt_keep_alive(f) at the end keeps f alive through the loop.
 *
 *   preempt-cc -O2 keepalive_fd.c -o keepalive_fd && ./keepalive_fd
 */
#include <errno.h>
#include <fcntl.h>
#include <preempt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct file {
  int fd;
};

static void close_file(void *obj, void *arg) {
  (void)arg;
  close(((struct file *)obj)->fd);
}

static struct file *open_file(const char *path) {
  struct file *f = preempt_new(struct file);
  f->fd = open(path, O_RDONLY);
  preempt_set_finalizer(f, close_file, NULL);
  return f;
}

/* Collection pressure: a collection (and its finalizers) at every read. */
static void pressure(void) {
  preempt_gc();
  preempt_run_finalizers();
}

static int read_without_keep_alive(const char *path) {
  struct file *f = open_file(path);
  int fd = f->fd; /* last use of f */
  char buf[512];
  for (int i = 0; i < 10; i++) {
    pressure();
    if (read(fd, buf, sizeof buf) < 0)
      return printf("  read %d failed: %s\n", i, strerror(errno)), -1;
  }
  return 0;
}

static int read_with_keep_alive(const char *path) {
  struct file *f = open_file(path);
  int fd = f->fd;
  char buf[512];
  for (int i = 0; i < 10; i++) {
    pressure();
    if (read(fd, buf, sizeof buf) < 0)
      return printf("  read %d failed: %s\n", i, strerror(errno)), -1;
  }
  preempt_keep_alive(f); /* f is live until here: no finalizer yet */
  return 0;
}

int main(void) {
  printf("without preempt_keep_alive:\n");
  int a = read_without_keep_alive("/dev/zero");
  printf("  %s\n", a ? "the finalizer closed the descriptor during the loop"
                     : "all reads succeeded");
  printf("with preempt_keep_alive:\n");
  int b = read_with_keep_alive("/dev/zero");
  printf("  %s\n", b ? "the finalizer closed the descriptor during the loop"
                     : "all reads succeeded");
  return a == -1 && b == 0 ? 0 : 1;
}
