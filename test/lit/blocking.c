// Direct calls of the blocking C library functions (runtime/blocking.def)
// go to the runtime's wrappers, weakly referenced, so that the thread is
// in a blocking region, never signalled, while it waits.  The call keeps
// its map.  With the real headers, at -O2 and -O0.
// RUN: %cc -O2 -S -emit-llvm -o - %s | FileCheck %s
// RUN: %cc -O0 -S -emit-llvm -o - %s | FileCheck %s
// RUN: %cc -O2 -D_FORTIFY_SOURCE=3 -S -emit-llvm -o - %s | FileCheck %s
// RUN: %cc -O2 -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64 -S -emit-llvm -o - %s | FileCheck %s
// The stats argument counts them.
// RUN: %cc -O2 -fplugin-arg-preempt-stats -c -o /dev/null %s 2>&1 | FileCheck %s --check-prefix=STATS
// STATS: preempt: {{.*}}blocking.c: 35 blocking calls made blocking transitions
#define _GNU_SOURCE
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void sink(long);
// libaio's (libaio.h)
struct io_event;
typedef struct io_context *io_context_t;
int io_getevents(io_context_t ctx, long min_nr, long nr,
                 struct io_event *events, struct timespec *timeout);

struct timespec ts;
struct timeval tv;
struct pollfd pfd;
sem_t sem;
fd_set fds;
sigset_t set;
siginfo_t info;
struct sockaddr sa;
socklen_t len;
struct msghdr mh;
struct mmsghdr mm;
struct sembuf sb;
struct epoll_event ev;
char buf[16];
int sig;
io_context_t ctx;
struct io_event *events;

// CHECK-LABEL: @c_nanosleep(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_nanosleep, ptr @nanosleep
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_nanosleep(void) { sink(nanosleep(&ts, &ts)); }
// CHECK-LABEL: @c_clock_nanosleep(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_clock_nanosleep, ptr @clock_nanosleep
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_clock_nanosleep(void) { sink(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts)); }
// CHECK-LABEL: @c_usleep(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_usleep, ptr @usleep
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_usleep(void) { sink(usleep(1)); }
// CHECK-LABEL: @c_sleep(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sleep, ptr @sleep
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sleep(void) { sink(sleep(1)); }
// CHECK-LABEL: @c_poll(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_poll, ptr @poll
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_poll(void) { sink(poll(&pfd, 1, 20)); }
// CHECK-LABEL: @c_ppoll(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_ppoll, ptr @ppoll
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_ppoll(void) { sink(ppoll(&pfd, 1, &ts, &set)); }
// CHECK-LABEL: @c_select(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_select, ptr @select
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_select(void) { sink(select(1, &fds, &fds, &fds, &tv)); }
// CHECK-LABEL: @c_pselect(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_pselect, ptr @pselect
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_pselect(void) { sink(pselect(1, &fds, &fds, &fds, &ts, &set)); }
// CHECK-LABEL: @c_epoll_wait(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_epoll_wait, ptr @epoll_wait
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_epoll_wait(void) { sink(epoll_wait(0, &ev, 1, 20)); }
// CHECK-LABEL: @c_epoll_pwait(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_epoll_pwait, ptr @epoll_pwait
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_epoll_pwait(void) { sink(epoll_pwait(0, &ev, 1, 20, &set)); }
// CHECK-LABEL: @c_epoll_pwait2(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_epoll_pwait2, ptr @epoll_pwait2
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_epoll_pwait2(void) { sink(epoll_pwait2(0, &ev, 1, &ts, &set)); }
// CHECK-LABEL: @c_sem_wait(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sem_wait, ptr @sem_wait
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sem_wait(void) { sink(sem_wait(&sem)); }
// CHECK-LABEL: @c_sem_timedwait(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sem_timedwait, ptr @sem_timedwait
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sem_timedwait(void) { sink(sem_timedwait(&sem, &ts)); }
// CHECK-LABEL: @c_sem_clockwait(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sem_clockwait, ptr @sem_clockwait
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sem_clockwait(void) { sink(sem_clockwait(&sem, CLOCK_MONOTONIC, &ts)); }
// CHECK-LABEL: @c_semop(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_semop, ptr @semop
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_semop(void) { sink(semop(0, &sb, 1)); }
// CHECK-LABEL: @c_semtimedop(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_semtimedop, ptr @semtimedop
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_semtimedop(void) { sink(semtimedop(0, &sb, 1, &ts)); }
// CHECK-LABEL: @c_msgrcv(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_msgrcv, ptr @msgrcv
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_msgrcv(void) { sink(msgrcv(0, buf, 8, 0, 0)); }
// CHECK-LABEL: @c_msgsnd(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_msgsnd, ptr @msgsnd
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_msgsnd(void) { sink(msgsnd(0, buf, 8, 0)); }
// CHECK-LABEL: @c_sigtimedwait(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sigtimedwait, ptr @sigtimedwait
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sigtimedwait(void) { sink(sigtimedwait(&set, &info, &ts)); }
// CHECK-LABEL: @c_sigwaitinfo(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sigwaitinfo, ptr @sigwaitinfo
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sigwaitinfo(void) { sink(sigwaitinfo(&set, &info)); }
// CHECK-LABEL: @c_sigwait(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sigwait, ptr @sigwait
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sigwait(void) { sink(sigwait(&set, &sig)); }
// CHECK-LABEL: @c_sigsuspend(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sigsuspend, ptr @sigsuspend
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sigsuspend(void) { sink(sigsuspend(&set)); }
// CHECK-LABEL: @c_pause(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_pause, ptr @pause
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_pause(void) { sink(pause()); }
// CHECK-LABEL: @c_accept(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_accept, ptr @accept
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_accept(void) { sink(accept(0, &sa, &len)); }
// CHECK-LABEL: @c_accept4(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_accept4, ptr @accept4
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_accept4(void) { sink(accept4(0, &sa, &len, 0)); }
// CHECK-LABEL: @c_connect(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_connect, ptr @connect
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_connect(void) { sink(connect(0, &sa, len)); }
// CHECK-LABEL: @c_recv(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_recv, ptr @recv
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_recv(void) { sink(recv(0, buf, 8, 0)); }
// CHECK-LABEL: @c_recvfrom(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_recvfrom, ptr @recvfrom
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_recvfrom(void) { sink(recvfrom(0, buf, 8, 0, &sa, &len)); }
// CHECK-LABEL: @c_recvmsg(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_recvmsg, ptr @recvmsg
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_recvmsg(void) { sink(recvmsg(0, &mh, 0)); }
// CHECK-LABEL: @c_recvmmsg(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_recvmmsg, ptr @recvmmsg
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_recvmmsg(void) { sink(recvmmsg(0, &mm, 1, 0, &ts)); }
// CHECK-LABEL: @c_send(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_send, ptr @send
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_send(void) { sink(send(0, buf, 8, 0)); }
// CHECK-LABEL: @c_sendto(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sendto, ptr @sendto
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sendto(void) { sink(sendto(0, buf, 8, 0, &sa, len)); }
// CHECK-LABEL: @c_sendmsg(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sendmsg, ptr @sendmsg
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sendmsg(void) { sink(sendmsg(0, &mh, 0)); }
// CHECK-LABEL: @c_sendmmsg(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_sendmmsg, ptr @sendmmsg
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_sendmmsg(void) { sink(sendmmsg(0, &mm, 1, 0)); }
// CHECK-LABEL: @c_io_getevents(
// CHECK: %[[F:.*]] = select i1 %{{.*}}, ptr @preempt_blocking_io_getevents, ptr @io_getevents
// CHECK-NEXT: call {{.*}} %[[F]]({{.*}}) {{.*}}[ "deopt"
void c_io_getevents(void) { sink(io_getevents(ctx, 1, 1, events, &ts)); }

// Anything called through a pointer is called as is.
// CHECK-LABEL: @not_ours(
// CHECK-NOT: preempt_blocking
// CHECK: ret void
unsigned (*volatile sleeper)(unsigned) = sleep;
void not_ours(void) { sink(sleeper(1)); }

// CHECK-DAG: declare extern_weak i32 @preempt_blocking_nanosleep(ptr, ptr)
// CHECK-DAG: declare extern_weak i64 @preempt_blocking_recvfrom(i32, ptr, i64, i32, ptr, ptr)
// CHECK-DAG: declare extern_weak i32 @preempt_blocking_pause()
