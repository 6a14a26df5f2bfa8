/* A memory leak that grows, and how preempt-heap finds it.
 *
 * Usage: leaky_cache BEFORE.snap AFTER.snap [N]
 *
 * A toy server answers N requests, takes a heap snapshot into BEFORE.snap,
 * answers N more and takes one into AFTER.snap.  Each request builds a
 * parsed request (struct request, its headers) and a response buffer that
 * are dropped when it is answered: garbage, collected.  But the answer is
 * also memoized in a global hash table, `cache`, of
 *
 *   struct entry { struct entry *next; char *key; struct blob *value; };
 *
 * that never evicts, and most keys are new: the cache grows with every
 * request.  Then:
 *
 *   preempt-heap diff BEFORE.snap AFTER.snap      what grew (struct blob,
 *                                                 struct entry, the keys)
 *   preempt-heap why AFTER.snap 'struct blob'     why a blob is alive:
 *                                                 global cache -> entry
 *                                                 -> next ... -> value
 *
 * Also a test (examples/leaky_cache_test.py). */
#include <preempt.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A computed answer: pointer-free, so the collector never scans it. */
struct blob {
  uint32_t len;
  uint32_t hash;
  unsigned char bytes[248];
};

struct entry {
  struct entry *next;
  char *key;
  struct blob *value;
};

#define NBUCKETS 4096
/* The leak: memoized answers, never evicted. */
static struct entry *cache[NBUCKETS];

/* Per request, dropped after the answer. */
struct header {
  struct header *next;
  char *name, *value;
};

struct request {
  char *path;
  struct header *headers;
  unsigned char *response; /* pointer-free buffer */
};

static uint32_t hash_of(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static char *copy_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = preempt_new_array(char, n);
  memcpy(p, s, n);
  return p;
}

static struct blob *compute(const char *key) {
  struct blob *b = preempt_new(struct blob);
  b->hash = hash_of(key);
  b->len = sizeof b->bytes;
  for (uint32_t i = 0; i < b->len; i++)
    b->bytes[i] = (unsigned char)(b->hash >> (i % 4 * 8));
  return b;
}

/* The memoizing lookup: finds key's answer or computes and keeps it. */
static struct blob *lookup(const char *key) {
  struct entry **bucket = &cache[hash_of(key) % NBUCKETS];
  for (struct entry *e = *bucket; e; e = e->next)
    if (!strcmp(e->key, key))
      return e->value;
  struct entry *e = preempt_new(struct entry);
  e->key = copy_string(key);
  e->value = compute(key);
  e->next = *bucket;
  *bucket = e;
  return e->value;
}

static struct request *parse(unsigned long id) {
  char path[64];
  /* one request in four asks again for an earlier item */
  unsigned long item = id % 4 == 3 ? id / 2 : id;
  snprintf(path, sizeof path, "/items/%lu", item);
  struct request *r = preempt_new(struct request);
  r->path = copy_string(path);
  static const char *const names[] = {"host", "accept", "user-agent"};
  for (int i = 0; i < 3; i++) {
    struct header *h = preempt_new(struct header);
    h->name = copy_string(names[i]);
    h->value = copy_string("example");
    h->next = r->headers;
    r->headers = h;
  }
  return r;
}

static unsigned long serve(unsigned long id) {
  struct request *r = parse(id);
  struct blob *answer = lookup(r->path);
  r->response = preempt_alloc_noscan(512);
  memcpy(r->response, answer->bytes, answer->len);
  return r->response[0] + answer->hash; /* r is garbage from here */
}

static int snapshot(const char *path, const char *reason) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || preempt_heap_snapshot(fd, reason) != 0) {
    perror(path);
    return 1;
  }
  return close(fd) != 0;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s BEFORE.snap AFTER.snap [N]\n", argv[0]);
    return 2;
  }
  unsigned long n = argc == 4 ? strtoul(argv[3], NULL, 10) : 20000;
  unsigned long sum = 0, id = 0;
  for (; id < n; id++)
    sum += serve(id);
  if (snapshot(argv[1], "after N requests"))
    return 1;
  for (; id < 2 * n; id++)
    sum += serve(id);
  if (snapshot(argv[2], "after 2N requests"))
    return 1;
  size_t entries = 0;
  for (int i = 0; i < NBUCKETS; i++)
    for (struct entry *e = cache[i]; e; e = e->next)
      entries++;
  printf("%lu requests, %zu cache entries (checksum %lu)\n", id, entries, sum);
  return 0;
}
