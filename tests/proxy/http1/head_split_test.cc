// HttpParser reads a head's target, reason and fields from its raw bytes (split_head), not from
// llhttp's callbacks; llhttp still decides the framing. The two must agree on every head ferry
// accepts, or a backend would be sent other fields than the ones framing was read from. Here
// each head of the fuzz corpora and a set of edge cases goes through both: HttpParser (whole,
// and a byte per read) and a bare strict llhttp with the callbacks ferry used to take its
// fields from; the target, reason, names and values must be the same bytes.
#include "proxy/http1/http_parser.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/head_view.h"

namespace ferry::proxy {
namespace {

using Kind = HttpParser::Kind;

using fuzz::HeadView;

struct HeadSink final : HttpParser::Sink {
  HeadView seen;
  int on_head(MessageHead& h) override {
    seen = fuzz::view_of(h);
    for (const HeaderField& f : h.fields) {
      // What split_head notes of each name on the way: its kind, and whether it has a '_'.
      EXPECT_EQ(f.underscore, h.name(f).find('_') != std::string_view::npos) << h.name(f);
      EXPECT_EQ(f.kind, classify_header(h.name(f))) << h.name(f);
    }
    return 1;  // stop after the head
  }
  int on_body(const char*, std::size_t) override { return 0; }
  int on_message_end() override { return 0; }
};

// HttpParser's view of the first head in `data`, fed in pieces of `step` bytes (0: whole).
HeadView ferry_view(Kind kind, std::string_view data, std::size_t step) {
  HeadSink sink;
  HttpParser parser(kind, sink, 64 * 1024);
  std::size_t off = 0;
  while (off < data.size() && !sink.seen.got) {
    const std::size_t n = step == 0 ? data.size() - off : std::min(step, data.size() - off);
    std::size_t used = 0;
    const HttpParser::Status s = parser.feed(data.data() + off, n, &used);
    if (s != HttpParser::Status::Ok) break;
    off += n;
  }
  return sink.seen;
}

// Checks one input; returns whether ferry accepted a head from it.
bool agree(Kind kind, std::string_view data, const std::string& label) {
  const HeadView whole = ferry_view(kind, data, 0);
  const HeadView bytewise = ferry_view(kind, data, 1);
  EXPECT_EQ(whole, bytewise) << label << "\nwhole:    " << whole.show() << "\nbytewise: " << bytewise.show();
  if (!whole.got) return false;
  const HeadView reference = fuzz::llhttp_head_view(kind == Kind::Request, data);
  EXPECT_TRUE(reference.got) << label;
  EXPECT_EQ(whole, reference) << label << "\nferry:  " << whole.show() << "\nllhttp: " << reference.show();
  return true;
}

std::vector<std::pair<std::string, std::string>> corpus(const char* folder) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::filesystem::path dir = std::filesystem::path(FERRY_SOURCE_DIR) / "tests/fuzz/corpus" / folder;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    out.emplace_back(entry.path().filename().string(),
                     std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  }
  return out;
}

TEST(HeadSplit, RequestCorpusAgreesWithLlhttp) {
  int accepted = 0;
  for (const auto& [name, data] : corpus("request")) accepted += agree(Kind::Request, data, name) ? 1 : 0;
  EXPECT_GT(accepted, 20);  // the corpus is mostly valid requests: a parser refusing all would pass
}

TEST(HeadSplit, ResponseCorpusAgreesWithLlhttp) {
  int accepted = 0;
  // (The response fuzzer's first byte picks the exchange, HEAD or not and so on: not a response byte.)
  for (const auto& [name, data] : corpus("response"))
    if (!data.empty()) accepted += agree(Kind::Response, std::string_view(data).substr(1), name) ? 1 : 0;
  EXPECT_GT(accepted, 10);
}

TEST(HeadSplit, EdgeCasesAgreeWithLlhttp) {
  const std::vector<std::string> requests = {
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /a?b=c HTTP/1.0\r\n\r\n",
      "\r\n\r\nGET /after-empty-lines HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost:a\r\nX:\r\nY: \r\nZ:\t \t\r\n\r\n",
      "GET / HTTP/1.1\r\nHost:  spaced  value \t\r\nA: x:y:z\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nV: \xc3\xa9t\xc3\xa9\r\nW: a\tb\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST http://example.com/x HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc",
      "GET / HTTP/1.1\r\nHost: a\r\n" + std::string(200, 'N') + ": " + std::string(500, 'v') + "\r\n\r\n",
      "GET / HTTP/1.1\r\nX_A: 1\r\nLong-Name-With_Underscore-Far-In: 2\r\n_: 3\r\nab_:4\r\n\r\n",
  };
  for (const std::string& r : requests) EXPECT_TRUE(agree(Kind::Request, r, r)) << r;
  const std::vector<std::string> responses = {
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 404  Not  Found \r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 Tab\there\r\nServer:x\r\nEmpty:\r\n\r\n",
      "HTTP/1.0 204 No Content\r\nA: 1\r\nA: 2\r\n\r\n",
  };
  for (const std::string& r : responses) EXPECT_TRUE(agree(Kind::Response, r, r)) << r;
}

// A second head on the same connection replaces the first: none of its fields or its target
// linger, and the first stays readable until the second's first byte arrives.
TEST(HeadSplit, NextHeadStartsClean) {
  struct Sink final : HttpParser::Sink {
    std::vector<HeadView> heads;
    int on_head(MessageHead& h) override {
      heads.push_back(fuzz::view_of(h));
      return 0;
    }
    int on_body(const char*, std::size_t) override { return 0; }
    int on_message_end() override { return 0; }
  } sink;
  HttpParser parser(Kind::Request, sink, 4096);
  const std::string first = "POST /first HTTP/1.1\r\nA: 1\r\nB: 2\r\nContent-Length: 4\r\n\r\nbody";
  const std::string second = "GET /second HTTP/1.1\r\nC: 3\r\n\r\n";
  std::size_t used = 0;
  ASSERT_EQ(parser.feed(first.data(), first.size(), &used), HttpParser::Status::MessageDone);
  parser.next_message();
  EXPECT_EQ(parser.head().view(parser.head().url), "/first");
  EXPECT_EQ(parser.head().fields.size(), 3u);
  ASSERT_EQ(parser.feed(second.data(), second.size(), &used), HttpParser::Status::MessageDone);
  ASSERT_EQ(sink.heads.size(), 2u);
  EXPECT_EQ(sink.heads[1].target, "/second");
  ASSERT_EQ(sink.heads[1].fields.size(), 1u);
  EXPECT_EQ(sink.heads[1].fields[0], std::make_pair(std::string("C"), std::string("3")));
}

// A chunked message's trailer fields never join its head's fields (they come through llhttp's
// callbacks, which the parser turns on only for the trailer section), and the next message's
// head has no callbacks left over.
TEST(HeadSplit, TrailersStayOutOfTheHead) {
  struct Sink final : HttpParser::Sink {
    std::vector<std::size_t> field_counts;
    int on_head(MessageHead& h) override {
      field_counts.push_back(h.fields.size());
      return 0;
    }
    int on_body(const char*, std::size_t) override { return 0; }
    int on_message_end() override { return 0; }
  } sink;
  HttpParser parser(Kind::Request, sink, 4096);
  parser.set_keep_trailers(true);
  const std::string first =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nHost: evil\r\nX-T: 1\r\n\r\n";
  std::size_t used = 0;
  ASSERT_EQ(parser.feed(first.data(), first.size(), &used), HttpParser::Status::MessageDone);
  EXPECT_EQ(parser.trailers(), "Host: evil\r\nX-T: 1\r\n");
  EXPECT_EQ(parser.head().fields.size(), 1u);
  parser.next_message();
  const std::string second = "GET / HTTP/1.1\r\nHost: good\r\n\r\n";
  ASSERT_EQ(parser.feed(second.data(), second.size(), &used), HttpParser::Status::MessageDone);
  ASSERT_EQ(sink.field_counts.size(), 2u);
  EXPECT_EQ(sink.field_counts[1], 1u);
  EXPECT_EQ(parser.head().find(HeaderName::Host), "good");
}

}  // namespace
}  // namespace ferry::proxy
