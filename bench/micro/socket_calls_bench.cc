// What one system call costs on this host, and what a socket's send/recv save over
// write/read: the kernel half of a proxy's CPU is mostly these calls, and on a paravirtual
// host each one's entry and exit is far dearer than on bare metal. A 27-byte message (the
// bench's keep-alive body) goes through a loopback TCP pair in one thread, so each iteration
// also pays the receiving side's TCP work, as a proxy's write to a local peer does.
#include <benchmark/benchmark.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>

namespace {

// A connected loopback TCP pair with TCP_NODELAY on both ends, as ferry's sockets have it.
struct LoopbackPair {
  int sender = -1;
  int receiver = -1;
  LoopbackPair() {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener, 1) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(listener);
      return;
    }
    sender = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(sender, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) receiver = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    const int on = 1;
    ::setsockopt(sender, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    ::setsockopt(receiver, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  ~LoopbackPair() {
    if (sender >= 0) ::close(sender);
    if (receiver >= 0) ::close(receiver);
  }
  bool ok() const { return sender >= 0 && receiver >= 0; }
};

constexpr std::size_t kMessage = 27;

void BM_NullSystemCall(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(::syscall(SYS_getppid));
}
BENCHMARK(BM_NullSystemCall);

// The message out by `out`, then in by `in`, over one loopback pair.
template <typename Out, typename In>
void loopback_round_trips(benchmark::State& state, Out out, In in) {
  LoopbackPair pair;
  if (!pair.ok()) {
    state.SkipWithError("no loopback TCP pair");
    return;
  }
  std::array<char, 4096> buf{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(out(pair.sender, buf.data(), kMessage));
    benchmark::DoNotOptimize(in(pair.receiver, buf.data(), buf.size()));
  }
}

void BM_LoopbackWriteThenRead(benchmark::State& state) {
  loopback_round_trips(
      state, [](int fd, const char* data, std::size_t n) { return ::write(fd, data, n); },
      [](int fd, char* data, std::size_t n) { return ::read(fd, data, n); });
}
BENCHMARK(BM_LoopbackWriteThenRead);

void BM_LoopbackSendThenRecv(benchmark::State& state) {
  loopback_round_trips(
      state, [](int fd, const char* data, std::size_t n) { return ::send(fd, data, n, MSG_NOSIGNAL); },
      [](int fd, char* data, std::size_t n) { return ::recv(fd, data, n, 0); });
}
BENCHMARK(BM_LoopbackSendThenRecv);

}  // namespace
