// ns per head for the per-request work on heads: parsing a request head as a client sends it
// (HeadScanner and llhttp, strict; the scanner alone too), building the head sent to the
// backend (X-Forwarded-*, hop-by-hop headers out), parsing the backend's response head and
// building the client's.
// The heads are the bench's: wrk's GET and a typical nginx response, plus a browser-sized
// request with cookies. Parsers and output strings are reused as a worker reuses them, so a
// run that allocates per head shows up here.
#include <benchmark/benchmark.h>

#include <string>

#include "proxy/http1/head_scan.h"
#include "proxy/http1/headers.h"
#include "proxy/http1/http_parser.h"

namespace ferry::proxy {
namespace {

const std::string kWrkRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1:18402\r\n\r\n";

const std::string kBrowserRequest =
    "GET /api/v1/items?page=2&sort=desc HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://shop.example.com/items\r\n"
    "Cookie: session=7f3a9c2e5b1d4f6a8c0e2b4d6f8a0c2e; theme=dark; consent=1\r\n"
    "Connection: keep-alive\r\n"
    "X-Forwarded-For: 203.0.113.7\r\n"
    "\r\n";

const std::string kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Thu, 26 Nov 2026 02:00:00 GMT\r\n"
    "Content-Type: text/html\r\n"
    "Content-Length: 27\r\n"
    "Last-Modified: Wed, 25 Nov 2026 10:00:00 GMT\r\n"
    "Connection: keep-alive\r\n"
    "ETag: \"6565c8a0-1b\"\r\n"
    "Accept-Ranges: bytes\r\n"
    "\r\n";

// Keeps nothing: the parser's MessageHead holds the head until the next message.
struct NullSink final : HttpParser::Sink {
  int on_head(MessageHead&) override { return 0; }
  int on_body(const char*, std::size_t) override { return 0; }
  int on_message_end() override { return 0; }
};

void parse(HttpParser& parser, const std::string& head, benchmark::State& state) {
  std::size_t used = 0;
  if (parser.feed(head.data(), head.size(), &used) != HttpParser::Status::MessageDone) {
    state.SkipWithError("the head did not parse");
  }
}

void BM_ParseRequestHead(benchmark::State& state, const std::string* head) {
  NullSink sink;
  HttpParser parser(HttpParser::Kind::Request, sink, 64 * 1024);
  for (auto _ : state) {
    parse(parser, *head, state);
    benchmark::DoNotOptimize(parser.head().fields.data());
    parser.next_message();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * head->size()));
}
BENCHMARK_CAPTURE(BM_ParseRequestHead, wrk_get, &kWrkRequest);
BENCHMARK_CAPTURE(BM_ParseRequestHead, browser_get, &kBrowserRequest);

// The scanner alone (ferry's grammar check in front of llhttp): its share of a parse above.
void BM_ScanHead(benchmark::State& state, const std::string* head, HeadScanner::StartLine kind) {
  HeadScanner scanner(kind);
  for (auto _ : state) {
    std::size_t consumed = 0;
    if (scanner.scan(head->data(), head->size(), &consumed) != HeadScanner::Result::Complete) {
      state.SkipWithError("the head did not scan");
    }
    scanner.reset();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * head->size()));
}
BENCHMARK_CAPTURE(BM_ScanHead, wrk_get, &kWrkRequest, HeadScanner::StartLine::Request);
BENCHMARK_CAPTURE(BM_ScanHead, browser_get, &kBrowserRequest, HeadScanner::StartLine::Request);
BENCHMARK_CAPTURE(BM_ScanHead, response, &kResponse, HeadScanner::StartLine::Response);

void BM_BuildRequestHead(benchmark::State& state, const std::string* head) {
  NullSink sink;
  HttpParser parser(HttpParser::Kind::Request, sink, 64 * 1024);
  parse(parser, *head, state);
  RequestRewrite rewrite;
  rewrite.client_ip = "127.0.0.1";
  rewrite.backend_name = "127.0.0.1:18400";
  std::string out;
  for (auto _ : state) {
    out.clear();
    build_request_head(parser.head(), rewrite, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK_CAPTURE(BM_BuildRequestHead, wrk_get, &kWrkRequest);
BENCHMARK_CAPTURE(BM_BuildRequestHead, browser_get, &kBrowserRequest);

void BM_ParseResponseHead(benchmark::State& state) {
  NullSink sink;
  HttpParser parser(HttpParser::Kind::Response, sink, 64 * 1024);
  const std::string message = kResponse + "<html>27 bytes of body</ht>";
  for (auto _ : state) {
    parse(parser, message, state);
    benchmark::DoNotOptimize(parser.head().fields.data());
    parser.next_message();
  }
}
BENCHMARK(BM_ParseResponseHead);

void BM_BuildResponseHead(benchmark::State& state) {
  NullSink sink;
  HttpParser parser(HttpParser::Kind::Response, sink, 64 * 1024);
  const std::string message = kResponse + "<html>27 bytes of body</ht>";
  parse(parser, message, state);
  const ResponseRewrite rewrite;
  std::string out;
  for (auto _ : state) {
    out.clear();
    build_response_head(parser.head(), rewrite, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_BuildResponseHead);

}  // namespace
}  // namespace ferry::proxy
