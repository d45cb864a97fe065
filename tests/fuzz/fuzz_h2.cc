// HTTP/2 server side: whatever a client sends goes through nghttp2 into ferry's ServerSession
// (server_session.h) with peers standing in for the data path, and frames come back out. The
// client's connection preface is given, so the input is frames from the first byte; the first
// input byte sets the read size (1 to 256 bytes a read, or all at once). Invariants:
//   - nothing crashes, leaks or trips a sanitizer, whatever the frames and read boundaries;
//   - every request a peer receives parses, with a fresh strict HTTP/1.1 parser, as exactly one
//     complete request with one Host, nothing before or after it: no frame can make the head a
//     backend reads say two things;
//   - a peer hears nothing after it was told its stream is gone.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model.h"
#include "proxy/http2/server_session.h"

namespace ferry::fuzz {
namespace {

using proxy::HttpParser;
using proxy::MessageHead;
using proxy::http2::ServerSession;
using proxy::http2::Stream;
using proxy::http2::StreamPeer;

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::string_view kAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// One stream's exchange: checks the HTTP/1.1 bytes it gets, answers once they make a request.
class Peer final : public StreamPeer, private HttpParser::Sink {
 public:
  explicit Peer(Stream* s) : stream(s), parser_(HttpParser::Kind::Request, this, 64 * 1024) {}

  void stream_input(const char* data, std::size_t len) override {
    FUZZ_CHECK(!gone, "input after the stream was abandoned");
    FUZZ_CHECK(!complete, "bytes after a complete request: " + escape({data, len}));
    std::size_t used = 0;
    const HttpParser::Status st = parser_.feed(data, len, &used);
    FUZZ_CHECK(st == HttpParser::Status::Ok || st == HttpParser::Status::MessageDone,
               std::string("the head ferry built does not parse: ") + (parser_.error() ? parser_.error() : "") +
                   " in " + escape({data, len}));
    if (st == HttpParser::Status::MessageDone) FUZZ_CHECK(used == len, "a second request after the first");
  }
  void stream_abandoned() override { gone = true; }
  void stream_drained() override { FUZZ_CHECK(!gone, "drained after the stream was abandoned"); }

  int on_head(MessageHead& head) override {
    FUZZ_CHECK(count_named(head, "host") == 1, "not one Host");
    const std::string violation = rfc_head_violation(head);
    FUZZ_CHECK(violation.empty(), "a head RFC 9110 refuses: " + violation);
    return 0;
  }
  int on_body(const char*, std::size_t) override { return 0; }
  int on_message_end() override {
    complete = true;
    return 0;
  }

  Stream* stream;
  bool gone = false;
  bool complete = false;
  bool answered = false;

 private:
  HttpParser parser_;
};

class Host final : public ServerSession::Host {
 public:
  StreamPeer* open_stream(Stream& s) override {
    peers.push_back(std::make_unique<Peer>(&s));
    return peers.back().get();
  }
  void want_write() override {}
  std::vector<std::unique_ptr<Peer>> peers;
};

void discard(void*, const char*, std::size_t) {}

void run(const uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const std::size_t step = data[0] == 0 ? size : data[0];
  std::string input(kPreface);
  input.append(reinterpret_cast<const char*>(data + 1), size - 1);
  Host host;
  proxy::http2::SessionLimits limits;
  limits.max_concurrent_streams = 16;
  limits.max_header_bytes = 4096;
  limits.response_buffer = 4096;
  auto session = std::make_unique<ServerSession>(host, limits);
  for (std::size_t off = 0; off < input.size(); off += step) {
    const bool ok = session->feed(input.data() + off, std::min(step, input.size() - off));
    // As the data path does, outside nghttp2: complete requests get their answer.
    for (const auto& p : host.peers) {
      if (p->complete && !p->gone && !p->answered) {
        p->answered = true;
        p->stream->response_bytes(kAnswer.data(), kAnswer.size());
        p->stream->peer_closed();
        p->gone = true;
      }
    }
    session->send_pending(&discard, nullptr, 1 << 20);
    if (!ok || session->finished()) break;
  }
  session.reset();  // abandons what is left
}

}  // namespace
}  // namespace ferry::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  ferry::fuzz::run(data, size);
  return 0;
}
