/* evloop: a tiny timer loop, the kind of C library that calls you back
 * with a user-data pointer (examples/eventloop.c uses it).  It is built
 * WITHOUT the plugin: it knows nothing of the collector. */
#ifndef EVLOOP_H
#define EVLOOP_H

struct evloop;
typedef void (*evloop_fn)(void *user, int tick);

struct evloop *evloop_new(void);
/* Calls fn(user, tick) at every tick that is a multiple of period; the
 * loop keeps user (in malloc'd memory) until evloop_free.  Returns the
 * timer's number, or -1 when the loop is full. */
int evloop_every(struct evloop *loop, int period, evloop_fn fn, void *user);
void *evloop_user(const struct evloop *loop, int timer);
/* Runs ticks 1..ticks, one per millisecond, on a worker thread of the
 * loop's own, and returns when they are done. */
void evloop_run(struct evloop *loop, int ticks);
void evloop_free(struct evloop *loop);

#endif
