// What a system call costs on this host, and what sharing the entry into the kernel saves.
//
// 1. A million getpeername(), ioctl(FIONBIO) and getppid() calls on a connected loopback
//    socket: wall time per call.
// 2. CPU per socket operation on loopback TCP: a send(2) or recv(2) of 128 bytes each, against
//    the same operations submitted to io_uring 16 at a time (16 sends, then 16 receives, per
//    io_uring_enter). Both do the same TCP work; the difference is the cost of entering and
//    leaving the kernel once per operation. 20,000 rounds on 16 connections.
// Each part runs three times. Needs liburing (Debian: liburing-dev), which ferry does not use.
// Build: cc -O2 syscall_costs.c -o syscall_costs -luring
#include <liburing.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kCalls = 1000000, kConns = 16, kRounds = 20000, kMessage = 128 };

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static double cpu_seconds(int kernel_only) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  double k = u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
  return kernel_only ? k : k + u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6;
}

// n connected loopback pairs: client ends in c, server ends in s, with Nagle off.
static void connect_pairs(int n, int* c, int* s) {
  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  bind(l, (void*)&a, sizeof a);
  listen(l, 64);
  getsockname(l, (void*)&a, &al);
  for (int i = 0; i < n; i++) {
    c[i] = socket(AF_INET, SOCK_STREAM, 0);
    connect(c[i], (void*)&a, sizeof a);
    s[i] = accept(l, 0, 0);
    setsockopt(c[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  close(l);
}

static void single_calls(int s) {
  struct sockaddr_storage p;
  double t0 = now_ns();
  for (int i = 0; i < kCalls; i++) {
    socklen_t pl = sizeof p;
    getpeername(s, (void*)&p, &pl);
  }
  double t1 = now_ns();
  for (int i = 0; i < kCalls; i++) {
    int on = 1;
    ioctl(s, FIONBIO, &on);
  }
  double t2 = now_ns();
  for (int i = 0; i < kCalls; i++) getppid();
  double t3 = now_ns();
  printf("getpeername %.0f ns, ioctl %.0f ns, getppid %.0f ns\n", (t1 - t0) / kCalls, (t2 - t1) / kCalls,
         (t3 - t2) / kCalls);
}

static void reap(struct io_uring* ring) {
  struct io_uring_cqe* cqe;
  unsigned head, n = 0;
  io_uring_for_each_cqe(ring, head, cqe) {
    if (cqe->res != kMessage) fprintf(stderr, "short: %d\n", cqe->res);
    n++;
  }
  io_uring_cq_advance(ring, n);
}

static void batched_operations(const int* c, const int* s) {
  static char msg[kMessage], buf[kConns][256];
  memset(msg, 'x', sizeof msg);
  const double ops = 2.0 * kRounds * kConns;
  double t0 = cpu_seconds(0), k0 = cpu_seconds(1);
  for (int r = 0; r < kRounds; r++) {
    for (int i = 0; i < kConns; i++) send(c[i], msg, sizeof msg, 0);
    for (int i = 0; i < kConns; i++) recv(s[i], buf[i], sizeof buf[i], 0);
  }
  double plain = (cpu_seconds(0) - t0) / ops * 1e9, plain_k = (cpu_seconds(1) - k0) / ops * 1e9;
  struct io_uring ring;
  io_uring_queue_init(2 * kConns, &ring, 0);
  t0 = cpu_seconds(0);
  k0 = cpu_seconds(1);
  for (int r = 0; r < kRounds; r++) {
    for (int i = 0; i < kConns; i++) io_uring_prep_send(io_uring_get_sqe(&ring), c[i], msg, sizeof msg, 0);
    io_uring_submit_and_wait(&ring, kConns);
    reap(&ring);
    for (int i = 0; i < kConns; i++) io_uring_prep_recv(io_uring_get_sqe(&ring), s[i], buf[i], sizeof buf[i], 0);
    io_uring_submit_and_wait(&ring, kConns);
    reap(&ring);
  }
  double batched = (cpu_seconds(0) - t0) / ops * 1e9, batched_k = (cpu_seconds(1) - k0) / ops * 1e9;
  io_uring_queue_exit(&ring);
  printf("per operation: one system call each %.0f ns (kernel %.0f); io_uring, %d per enter: %.0f ns (kernel %.0f)\n",
         plain, plain_k, kConns, batched, batched_k);
}

int main(void) {
  int c[kConns], s[kConns];
  connect_pairs(kConns, c, s);
  for (int rep = 0; rep < 3; rep++) single_calls(s[0]);
  for (int rep = 0; rep < 3; rep++) batched_operations(c, s);
  return 0;
}
