// A loopback address whose connects never complete: a listener with a zero backlog whose accept
// queue is already full, so the kernel drops every new SYN and a connect waits for its timeout.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::testing {

class BlackHole {
 public:
  BlackHole();
  ~BlackHole();
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fillers_;
};

}  // namespace ferry::testing
