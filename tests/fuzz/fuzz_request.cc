// Request path: the bytes of one client connection go through HttpParser(Request) and ferry's
// request policy, and every request ferry accepts is rebuilt as ferry forwards it
// (build_request_head plus its own body framing). Invariants:
//   - nothing crashes, leaks or trips a sanitizer;
//   - the parse does not depend on how the bytes were split into reads;
//   - what ferry forwards is unambiguous: the forwarded stream, parsed by a fresh strict
//     parser under the same policy, holds exactly the same requests (method, target, body,
//     framing), one for one, with no byte left over, so a backend cannot see a request the
//     client smuggled;
//   - the forwarded head carries exactly one Host (the client's), no name with '_', and no
//     header ferry should have dropped or rewritten.
#include <cstddef>
#include <cstdint>
#include <string>

#include "head_view.h"
#include "model.h"

namespace ferry::fuzz {
namespace {

constexpr std::size_t kMaxHead = 4096;

bool accept_request(const proxy::MessageHead& h) { return ferry_accepts_request_head(h); }

struct Run {
  RecordingSink sink{&accept_request};
  proxy::HttpParser parser;
  End end = End::Clean;
  std::size_t used = 0;
  Run(std::string_view data, ReadPlan plan, std::size_t max_head = kMaxHead)
      : parser(proxy::HttpParser::Kind::Request, sink, max_head) {
    sink.attach(&parser);
    end = drive(parser, data, plan, &used);
  }
};

// The requests ferry forwards: complete ones its policy accepted.
std::vector<const Seen*> forwarded_messages(const Run& r) {
  std::vector<const Seen*> out;
  for (const Seen& m : r.sink.messages)
    if (m.complete && !m.policy_rejected) out.push_back(&m);
  return out;
}

std::string describe(const Seen& m) {
  std::string s = llhttp_method_name(static_cast<llhttp_method_t>(m.head.method));
  s += " " + escape(m.head.view(m.head.url)) + " body=" + std::to_string(m.body.size());
  return s;
}

}  // namespace
}  // namespace ferry::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ferry::fuzz;
  using ferry::proxy::iequals;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // The target, reason and fields ferry cuts from a head it accepts are llhttp's, byte for byte
  // (llhttp decides the framing: a field the two read apart could carry a smuggled one).
  if (const HeadView ours = ferry_head_view(true, input); ours.got) {
    const HeadView theirs = llhttp_head_view(true, input);
    FUZZ_CHECK(ours == theirs, "ferry: " + escape(ours.show()) + "\nllhttp: " + escape(theirs.show()) +
                                   "\ninput: " + escape(input));
  }

  Run whole(input, ReadPlan::whole());
  Run split(input, ReadPlan(static_cast<uint32_t>(size) * 2654435761u + 1, 7));

  // Read boundaries change nothing about which requests are accepted or what they hold.
  const auto a = forwarded_messages(whole);
  const auto b = forwarded_messages(split);
  FUZZ_CHECK(a.size() == b.size(), "whole: " + std::to_string(a.size()) + " split: " + std::to_string(b.size()) +
                                       " input: " + escape(input));
  for (std::size_t i = 0; i < a.size(); ++i) {
    FUZZ_CHECK(a[i]->head.method == b[i]->head.method && a[i]->head.view(a[i]->head.url) == b[i]->head.view(b[i]->head.url) &&
                   a[i]->body == b[i]->body && a[i]->head.fields.size() == b[i]->head.fields.size(),
               describe(*a[i]) + " vs " + describe(*b[i]) + " input: " + escape(input));
    for (std::size_t f = 0; f < a[i]->head.fields.size(); ++f) {
      const auto& fa = a[i]->head.fields[f];
      const auto& fb = b[i]->head.fields[f];
      FUZZ_CHECK(a[i]->head.name(fa) == b[i]->head.name(fb) && a[i]->head.value(fa) == b[i]->head.value(fb),
                 "header differs with read boundaries: " + escape(a[i]->head.name(fa)) + ": " +
                     escape(a[i]->head.value(fa)) + " vs " + escape(b[i]->head.name(fb)) + ": " +
                     escape(b[i]->head.value(fb)));
    }
  }
  FUZZ_CHECK((whole.end == End::Upgrade) == (split.end == End::Upgrade),
             std::string("end ") + end_name(whole.end) + " vs " + end_name(split.end));

  // Rebuild what ferry sends its backend, all on one (pooled) connection.
  std::string stream;
  for (const Seen* m : a) {
    // ferry builds the head when it engages a backend; for a request read whole (any body up to
    // buffers.request) that is after the message ended.
    // Trailer fields must never join the head ferry forwards (they did before 777803e).
    FUZZ_CHECK(m->head_at_end.fields.size() == m->head.fields.size(),
               "trailer fields merged into the head: " + escape(input));
    const ferry::proxy::MessageHead& h = m->head_at_end;
    ferry::proxy::RequestRewrite rw;
    rw.client_ip = "203.0.113.9";
    rw.backend_name = "10.0.0.1:8000";
    rw.upgrade = h.upgrade;
    rw.body_chunked = h.chunked;
    rw.content_length = h.content_length;
    rw.has_body = h.chunked || h.content_length > 0;
    ferry::proxy::build_request_head(h, rw, stream);
    for (const std::string& piece : m->pieces) frame_piece(stream, piece, h.chunked);
    frame_end(stream, h.chunked);
    if (!rw.has_body) FUZZ_CHECK(m->body.empty(), "a body without framing: " + describe(*m));
  }
  if (std::getenv("FERRY_FUZZ_DEBUG") != nullptr)
    std::fprintf(stderr, "accepted %zu, forwarded: %s\n", a.size(), escape(stream, 100000).c_str());
  if (a.empty()) return 0;

  // A backend (here: a second ferry) reads exactly the same requests back.
  // The forwarded head is larger than the client's (X-Forwarded-*): no head limit applies here.
  Run again(stream, ReadPlan::whole(), std::size_t{1} << 30);
  const bool last_upgrades = a.back()->head_at_end.upgrade;
  FUZZ_CHECK(again.end == (last_upgrades ? End::Upgrade : End::Clean),
             std::string("forwarded stream ends ") + end_name(again.end) + " (" +
                 (again.parser.error() ? again.parser.error() : "") + "): " + escape(stream) +
                 "\ninput: " + escape(input));
  FUZZ_CHECK(again.used == stream.size(),
             "bytes left over in the forwarded stream: " + escape(stream.substr(again.used)) + "\ninput: " + escape(input));
  const auto c = forwarded_messages(again);
  FUZZ_CHECK(c.size() == a.size() && again.sink.messages.size() == a.size(),
             "forwarded " + std::to_string(a.size()) + " requests, backend reads " + std::to_string(c.size()) +
                 ": " + escape(stream) + "\ninput: " + escape(input));
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Seen& orig = *a[i];
    const Seen& got = *c[i];
    const auto& oh = orig.head;
    const auto& gh = got.head;
    FUZZ_CHECK(oh.method == gh.method, describe(orig) + " became " + describe(got));
    FUZZ_CHECK(oh.view(oh.url) == gh.view(gh.url), describe(orig) + " became " + describe(got));
    FUZZ_CHECK(orig.body == got.body, describe(orig) + " body changed: " + escape(got.body));
    FUZZ_CHECK(gh.chunked == oh.chunked, "framing changed for " + describe(orig));
    FUZZ_CHECK(count_named(gh, "host") == 1, "forwarded Host count " + std::to_string(count_named(gh, "host")) +
                                                 " for " + describe(orig) + ": " + escape(stream));
    if (count_named(oh, "host") == 1) {
      FUZZ_CHECK(trim(gh.find("host")) == trim(oh.find("host")),
                 "Host changed from " + escape(oh.find("host")) + " to " + escape(gh.find("host")));
    }
    FUZZ_CHECK(count_named(gh, "content-length") + count_named(gh, "transfer-encoding") <= 1,
               "two framing headers forwarded: " + escape(stream));
    FUZZ_CHECK(count_named(gh, "x-forwarded-for") == 1, "X-Forwarded-For not single: " + escape(stream));
    for (const auto& f : gh.fields) {
      const std::string_view name = gh.name(f);
      FUZZ_CHECK(name.find('_') == std::string_view::npos, "underscore header forwarded: " + escape(name));
      FUZZ_CHECK(!iequals(name, "keep-alive") && !iequals(name, "proxy-connection") && !iequals(name, "te") &&
                     !iequals(name, "trailer") && !iequals(name, "expect"),
                 "hop-by-hop header forwarded: " + escape(name));
    }
    // Every forwarded field came from the client's header section or was set by ferry:
    // nothing from elsewhere (such as a chunked body's trailer section) is promoted to a header.
    for (const auto& f : gh.fields) {
      const std::string_view name = gh.name(f);
      if (iequals(name, "x-forwarded-for") || iequals(name, "x-forwarded-proto") ||
          iequals(name, "x-forwarded-host") || iequals(name, "content-length") ||
          iequals(name, "transfer-encoding") || iequals(name, "connection") || iequals(name, "upgrade") ||
          iequals(name, "host"))
        continue;
      bool found = false;
      for (const auto& of : oh.fields)
        if (oh.name(of) == name && oh.value(of) == gh.value(f)) found = true;
      FUZZ_CHECK(found, "forwarded header not in the client's header section: " + escape(name) + ": " +
                            escape(gh.value(f)) + "\ninput: " + escape(input));
    }
  }
  return 0;
}
