// Response path: the bytes a backend sends for one request go through HttpParser(Response)
// and are rebuilt as ferry relays them to the client (build_response_head, ferry's own body
// framing, the framing choice ClientConn::response_head makes). The first input byte picks the
// exchange: bit 0 the request was HEAD, bit 1 the client speaks HTTP/1.0, bit 2 the request
// asked to upgrade, bit 3 the client wants keep-alive. Invariants:
//   - nothing crashes or trips a sanitizer, and read boundaries change nothing;
//   - a 101 is relayed only when ferry really switches to a tunnel;
//   - what the client gets re-parses cleanly (fresh strict parser) as the same response: same
//     status, same body, its framing ending exactly where the bytes end, so the client never
//     reads part of this response as the start of the next one.
#include <cstddef>
#include <cstdint>
#include <string>

#include "head_view.h"
#include "model.h"

namespace ferry::fuzz {
namespace {

using proxy::BodyFraming;
using proxy::HttpParser;
using proxy::MessageHead;

struct Exchange {
  bool head_request = false;
  bool http10_client = false;
  bool upgrade_request = false;
  bool client_keep_alive = false;
};

// What ferry relays for one backend response: mirrors ClientConn::response_head / response_body
// / response_end and UpstreamConn's handling of 1xx and of the end of the stream.
class Relay final : public HttpParser::Sink {
 public:
  explicit Relay(Exchange x) : x_(x) {}
  std::string out;
  int final_status = 0;
  BodyFraming framing = BodyFraming::None;
  bool keep_alive = false;
  bool interim = false;
  bool final_done = false;
  bool rejected = false;
  std::string body;
  std::vector<int> relayed_interim;

  int on_head(MessageHead& head) override {
    const std::string violation = rfc_head_violation(head);
    FUZZ_CHECK(violation.empty(), "the parser handed on a head RFC 9110 refuses: " + violation);
    FUZZ_CHECK(head.status >= 100 && head.status <= 599, "status " + std::to_string(head.status));
    interim = head.status >= 100 && head.status < 200 && head.status != 101;
    if (interim) {
      if (!x_.http10_client && head.status != 100) {
        proxy::ResponseRewrite rw;
        rw.framing = BodyFraming::None;
        proxy::build_response_head(head, rw, out);
        relayed_interim.push_back(head.status);
      }
      return 0;
    }
    // A 101 must answer an upgrade request, be an upgrade to llhttp (Connection: upgrade) and
    // carry one Upgrade header.
    if (head.status == 101 && (!x_.upgrade_request || !head.upgrade || count_named(head, "upgrade") != 1)) {
      rejected = true;
      return -1;
    }
    final_status = head.status;
    if (x_.head_request || head.status == 204 || head.status == 304 || head.status == 101) {
      framing = BodyFraming::None;
    } else if (head.has_content_length) {
      framing = BodyFraming::ContentLength;
    } else if (!x_.http10_client) {
      framing = BodyFraming::Chunked;
    } else {
      framing = BodyFraming::UntilClose;
    }
    keep_alive = x_.client_keep_alive && framing != BodyFraming::UntilClose &&
                 !(x_.upgrade_request && head.status != 101);
    proxy::ResponseRewrite rw;
    rw.framing = framing;
    rw.keep_alive = keep_alive;
    rw.http10_client = x_.http10_client;
    rw.upgrade = head.status == 101;
    proxy::build_response_head(head, rw, out);
    return 0;
  }
  int on_body(const char* data, std::size_t len) override {
    // llhttp 8.1 leaves skipping the body of a 1xx, 204 or 304 to on_headers_complete (which
    // returns 1 for them since 777803e): such a response must never deliver body bytes.
    FUZZ_CHECK(!interim, "a 1xx response with a body");
    FUZZ_CHECK(framing != BodyFraming::None, "body bytes for a bodiless response (status " +
                                                 std::to_string(final_status) + ")");
    frame_piece(out, std::string_view(data, len), framing == BodyFraming::Chunked);
    body.append(data, len);
    return 0;
  }
  int on_message_end() override {
    if (interim) return 0;
    frame_end(out, framing == BodyFraming::Chunked);
    final_done = true;
    return 0;
  }

 private:
  Exchange x_;
};

struct Outcome {
  std::string out;
  std::string body;
  int status = 0;
  bool done = false;
  bool upgraded = false;
  BodyFraming framing = BodyFraming::None;
  std::vector<int> interim;
};

// Feeds the backend's bytes as UpstreamConn::handle_input does, then the end of the stream.
Outcome relay(std::string_view data, Exchange x, ReadPlan plan) {
  Relay sink(x);
  HttpParser parser(HttpParser::Kind::Response, sink, 64 * 1024);
  parser.set_head_request(x.head_request);
  std::size_t pos = 0;
  Outcome o;
  bool stopped = false;
  while (pos < data.size() && !stopped) {
    const std::size_t piece = plan.next(data.size() - pos);
    std::size_t used = 0;
    const HttpParser::Status s = parser.feed(data.data() + pos, piece, &used);
    FUZZ_CHECK(used <= piece, "consumed more than given");
    pos += used;
    switch (s) {
      case HttpParser::Status::Ok:
        break;
      case HttpParser::Status::MessageDone:
        parser.next_message();
        if (sink.interim) {
          sink.interim = false;
          continue;
        }
        stopped = true;  // bytes past the response close the backend connection
        break;
      case HttpParser::Status::Upgrade:
        o.upgraded = true;
        stopped = true;
        break;
      default:
        stopped = true;  // 502, or the client connection closes mid-response
        break;
    }
  }
  if (!stopped && sink.final_status != 0 && !sink.final_done && !sink.interim &&
      parser.message_started()) {
    // The backend closed: a response delimited by the close ends here, anything else is cut.
    parser.finish();
  }
  o.out = std::move(sink.out);
  o.body = std::move(sink.body);
  o.status = sink.final_status;
  o.done = sink.final_done && !sink.rejected;
  o.framing = sink.framing;
  o.interim = std::move(sink.relayed_interim);
  return o;
}

// The client's side: a plain strict parser reading what ferry relayed.
class ClientView final : public HttpParser::Sink {
 public:
  std::vector<int> statuses;
  std::string body;
  int on_head(MessageHead& head) override {
    statuses.push_back(head.status);
    return 0;
  }
  int on_body(const char* data, std::size_t len) override {
    body.append(data, len);
    return 0;
  }
  int on_message_end() override { return 0; }
};

}  // namespace
}  // namespace ferry::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ferry::fuzz;
  using ferry::proxy::HttpParser;
  if (size < 1) return 0;
  Exchange x;
  x.head_request = (data[0] & 1) != 0;
  x.http10_client = (data[0] & 2) != 0;
  x.upgrade_request = (data[0] & 4) != 0;
  x.client_keep_alive = (data[0] & 8) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  // The target, reason and fields ferry cuts from a head it accepts are llhttp's, byte for byte
  // (llhttp decides the framing: a field the two read apart could carry a smuggled one).
  if (const HeadView ours = ferry_head_view(false, input); ours.got) {
    const HeadView theirs = llhttp_head_view(false, input);
    FUZZ_CHECK(ours == theirs, "ferry: " + escape(ours.show()) + "\nllhttp: " + escape(theirs.show()) +
                                   "\ninput: " + escape(input));
  }

  const Outcome whole = relay(input, x, ReadPlan::whole());
  const Outcome split = relay(input, x, ReadPlan(static_cast<uint32_t>(size) * 2246822519u + 7, 5));
  FUZZ_CHECK(whole.done == split.done && whole.status == split.status && whole.body == split.body &&
                 whole.upgraded == split.upgraded,
             "read boundaries changed the response: input " + escape(input));
  // Re-chunked bodies follow the reads; any other framing is byte-for-byte the same.
  if (whole.done && whole.framing != ferry::proxy::BodyFraming::Chunked)
    FUZZ_CHECK(whole.out == split.out, "relayed bytes differ with read boundaries: " + escape(input));
  if (!whole.done) return 0;
  // A 101 that llhttp does not see as an upgrade (no "Connection: upgrade") must be refused,
  // not relayed as switched while ferry goes on in HTTP.
  FUZZ_CHECK(whole.status != 101 || whole.upgraded,
             "a 101 relayed as switched while ferry goes on in HTTP: backend sent " + escape(input));

  // The client reads back exactly this response: interim ones it was sent, then the final one.
  ClientView view;
  HttpParser client(HttpParser::Kind::Response, view, 64 * 1024);
  client.set_head_request(x.head_request);
  std::size_t pos = 0;
  bool ended = false;
  bool upgraded = false;
  const std::string& out = whole.out;
  while (pos < out.size() && !ended) {
    std::size_t used = 0;
    const HttpParser::Status s = client.feed(out.data() + pos, out.size() - pos, &used);
    pos += used;
    switch (s) {
      case HttpParser::Status::Ok:
        break;
      case HttpParser::Status::MessageDone:
        client.next_message();
        if (view.statuses.back() == whole.status) ended = true;
        break;
      case HttpParser::Status::Upgrade:
        upgraded = true;
        ended = true;
        break;
      default:
        FUZZ_CHECK(false, std::string("client cannot parse what ferry relayed (") +
                              (client.error() ? client.error() : "?") + "): " + escape(out) +
                              "\nbackend sent: " + escape(input));
    }
  }
  if (!ended && whole.framing == ferry::proxy::BodyFraming::UntilClose) {
    FUZZ_CHECK(client.finish() == HttpParser::Status::MessageDone, "close-delimited body does not end at close");
    ended = true;
  }
  FUZZ_CHECK(ended, "the client is still waiting for the end of the response: " + escape(out) +
                        "\nbackend sent: " + escape(input));
  FUZZ_CHECK(pos == out.size(), "bytes after the response's end: " + escape(out.substr(pos)) +
                                    "\nbackend sent: " + escape(input));
  FUZZ_CHECK(upgraded == whole.upgraded, "upgrade changed");
  FUZZ_CHECK(!view.statuses.empty() && view.statuses.back() == whole.status,
             "status changed: relayed " + escape(out));
  std::vector<int> interim(view.statuses.begin(), view.statuses.end() - 1);
  FUZZ_CHECK(interim == whole.interim, "interim responses changed: " + escape(out));
  FUZZ_CHECK(view.body == whole.body, "body changed: relayed " + escape(out) + "\nbackend sent: " + escape(input));
  return 0;
}
