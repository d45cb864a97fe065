// What one system call costs on this host: a million getpeername(), ioctl(FIONBIO) and
// getppid() calls on a connected loopback socket, wall time per call, three times.
// Build: cc -O2 syscall_cost.c -o syscall_cost
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(void) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  bind(l, (void*)&a, sizeof a);
  listen(l, 10);
  getsockname(l, (void*)&a, &al);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  connect(c, (void*)&a, sizeof a);
  int s = accept(l, 0, 0);
  enum { kCalls = 1000000 };
  for (int r = 0; r < 3; r++) {
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
  return 0;
}
