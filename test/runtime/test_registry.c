/* The map registry follows dlopen and dlclose, and a malformed map is
 * reported with the object's name and ignored, never a crash. */
#include "testutil.h"

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

#ifndef LIBDIR
#error "LIBDIR: where the test libraries are built"
#endif

static uint64_t records(void) {
  struct preempt_stats s;
  preempt_gc(); /* a collection syncs the registry */
  preempt_read_stats(&s);
  return s.stack_records;
}

Test(registry, dlopen_and_dlclose) {
  uint64_t base = records();
  void *h = dlopen(LIBDIR "/libpreempt_testlib.so", RTLD_NOW);
  cr_assert(h, "%s", dlerror());
  uint64_t loaded = records();
  cr_assert_gt(loaded, base, "the library's maps were not registered");
  /* Its code allocates and collects with its own frames on the stack. */
  void *(*build)(int) = (void *(*)(int))dlsym(h, "testlib_build");
  long (*check)(void *) = (long (*)(void *))dlsym(h, "testlib_check");
  cr_assert(build && check);
  void *list = build(1000);
  cr_assert_eq(check(list), 1000L * 999 / 2);
  list = NULL;
  dlclose(h);
  cr_assert_eq(records(), base, "maps of an unloaded library stayed registered");
}

/* stderr goes to a pipe we read back. */
static char *capture_stderr(void (*fn)(void)) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  int saved = dup(2);
  dup2(fds[1], 2);
  fn();
  dup2(saved, 2);
  close(fds[1]);
  static char buf[8192];
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  close(fds[0]);
  return buf;
}

static void load_bad(void) {
  void *h = dlopen(LIBDIR "/libpreempt_badmap.so", RTLD_NOW);
  cr_assert(h, "%s", dlerror());
  preempt_gc();
  void (*fn)(void) = (void (*)(void))dlsym(h, "badmap_run");
  cr_assert(fn);
  fn(); /* allocates and collects with a frame whose map was rejected */
}

Test(registry, malformed_map_is_reported_not_fatal) {
  uint64_t base = records();
  char *err = capture_stderr(load_bad);
  cr_assert(strstr(err, "libpreempt_badmap.so"), "message does not name the object: %s", err);
  cr_assert(strstr(err, "malformed stack map note"), "unexpected message: %s", err);
  cr_assert(strstr(err, "return address outside the object's code"), "unexpected message: %s", err);
  /* badmap_run has two calls with maps; the forged record is not counted. */
  cr_assert_eq(records(), base + 2, "wrong number of records registered");
}

/* Copies of testlib whose maps were damaged after linking
 * (tools/test/corrupt.py): "collide" gives its second function the first
 * one's return address, as one flipped bit can; "rsp" says a root value is
 * in the stack pointer.  Either would have the collector trust wrong roots.
 * The runtime must reject the note with one message naming the object, the
 * offset and the reason, then scan those frames conservatively: the
 * library's data survives and its garbage is still collected. */
static const char *damaged_mode;

static void load_damaged(void) {
  char path[512];
  snprintf(path, sizeof path, LIBDIR "/libpreempt_badmap_%s.so", damaged_mode);
  void *h = dlopen(path, RTLD_NOW);
  cr_assert(h, "%s", dlerror());
  void *(*build)(int) = (void *(*)(int))dlsym(h, "testlib_build");
  long (*check)(void *) = (long (*)(void *))dlsym(h, "testlib_check");
  cr_assert(build && check);
  struct preempt_stats before, after;
  preempt_gc();
  preempt_read_stats(&before);
  for (int round = 0; round < 20; round++) {
    /* Collections run inside the library's frames (every 100 cells). */
    void *list = build(2000);
    cr_assert_eq(check(list), 2000L * 1999 / 2, "cells lost or corrupted");
  }
  preempt_gc();
  preempt_read_stats(&after);
  /* 20 lists of 2000 cells, at most one still held somewhere. */
  cr_assert_geq(after.total_freed_objects - before.total_freed_objects,
                19 * 2000, "garbage of the library's frames was not freed");
}

static void check_rejected(const char *mode, const char *reason) {
  damaged_mode = mode;
  uint64_t base = records();
  char *err = capture_stderr(load_damaged);
  char lib[64];
  snprintf(lib, sizeof lib, "libpreempt_badmap_%s.so", mode);
  cr_assert(strstr(err, lib), "message does not name the object: %s", err);
  cr_assert(strstr(err, "malformed stack map note at offset 0x"),
            "no offset: %s", err);
  cr_assert(strstr(err, reason), "unexpected reason: %s", err);
  cr_assert(strstr(err, "scanned conservatively"), "unexpected message: %s", err);
  /* Reported once, when loaded. */
  cr_assert_eq(strstr(strstr(err, lib) + 1, lib), NULL, "reported twice: %s", err);
  cr_assert_eq(records(), base, "records of a rejected note were registered");
}

Test(registry, colliding_return_addresses_are_rejected) {
  check_rejected("collide", "overlap those of function 0 (duplicate records)");
}

Test(registry, stack_pointer_as_root_value_is_rejected) {
  check_rejected("rsp", "the stack pointer as a register value");
}

/* Two notes of one library (two translation units), each sound alone,
 * claim one return address: the runtime trusts neither record, says so
 * once, and scans that call's frames conservatively. */
Test(registry, return_address_claimed_by_two_notes) {
  damaged_mode = "notes";
  char *err = capture_stderr(load_damaged);
  cr_assert(strstr(err, "libpreempt_badmap_notes.so"), "message does not name the object: %s", err);
  cr_assert(strstr(err, "two stack map records for the call returning to"),
            "unexpected message: %s", err);
  cr_assert_eq(strstr(strstr(err, "two stack map") + 1, "two stack map"), NULL,
               "reported twice: %s", err);
}
