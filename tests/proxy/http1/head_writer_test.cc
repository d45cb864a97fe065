// HeadWriter: what it leaves in the string is exactly what was written after what was there,
// however far the head outgrows the room first made for it.
#include "proxy/http1/head_writer.h"

#include <gtest/gtest.h>

#include "proxy/http1/headers.h"

#include <cstdint>
#include <string>

namespace ferry::proxy {
namespace {

TEST(HeadWriter, LeavesExactlyWhatWasWrittenAfterWhatWasThere) {
  std::string out = "kept:";
  {
    HeadWriter w(out, 64);
    w.put("GET");
    w.put(' ');
    w.put(std::string_view("/a?b=c"));
    w.put(" HTTP/1.1\r\n");
    w.put("Content-Length: ");
    w.put_number(0);
    w.put("\r\n\r\n");
  }
  EXPECT_EQ(out, "kept:GET /a?b=c HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
}

TEST(HeadWriter, GrowsPastItsGuessPieceByPiece) {
  for (const std::size_t guess : {0u, 1u, 19u, 300u}) {
    std::string out;
    std::string expected;
    {
      HeadWriter w(out, guess);
      for (int i = 0; i < 500; ++i) {
        const std::string piece(static_cast<std::size_t>(i % 37), static_cast<char>('a' + i % 26));
        w.put(piece);
        expected += piece;
        w.put(':');
        expected += ':';
        w.put_number(UINT64_MAX - static_cast<uint64_t>(i));
        expected += std::to_string(UINT64_MAX - static_cast<uint64_t>(i));
        w.put("\r\n");
        expected += "\r\n";
      }
    }
    EXPECT_EQ(out.size(), expected.size()) << "guess " << guess;
    EXPECT_EQ(out, expected) << "guess " << guess;
  }
}

TEST(HeadWriter, ANumberAtTheVeryEndOfTheRoomStillFits) {
  for (std::size_t guess = 0; guess < 24; ++guess) {
    std::string out;
    {
      HeadWriter w(out, guess);
      w.put(std::string(guess, 'x'));
      w.put_number(UINT64_MAX);
      w.put_number(7);
    }
    EXPECT_EQ(out, std::string(guess, 'x') + "184467440737095516157") << "guess " << guess;
  }
}

struct NoSink final : HttpParser::Sink {
  int on_head(MessageHead&) override { return 0; }
  int on_body(const char*, std::size_t) override { return 0; }
  int on_message_end() override { return 0; }
};

// The room a head builder makes becomes the string's capacity, which a pooled exchange keeps:
// a loose guess shows as bytes per idle connection. So the room stays close to the head.
TEST(HeadWriter, TheHeadBuildersMakeRoomCloseToTheHead) {
  NoSink sink;
  HttpParser request(HttpParser::Kind::Request, sink, 8192);
  const std::string_view get = "GET /index.html HTTP/1.1\r\nHost: example.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
  std::size_t used = 0;
  ASSERT_EQ(request.feed(get.data(), get.size(), &used), HttpParser::Status::MessageDone);
  RequestRewrite rw;
  rw.client_ip = "127.0.0.1";
  rw.request_id = "4346e57ff278aab0dbd238973a2b148a";
  std::string head;
  build_request_head(request.head(), rw, head);
  EXPECT_GE(head.capacity(), head.size());
  EXPECT_LE(head.capacity(), head.size() + 64) << head;

  HttpParser response(HttpParser::Kind::Response, sink, 8192);
  const std::string_view ok =
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 18:40:43 GMT\r\n"
      "Content-Type: text/plain\r\nContent-Length: 27\r\nConnection: keep-alive\r\n\r\n";
  ASSERT_EQ(response.feed(ok.data(), ok.size(), &used), HttpParser::Status::Ok);
  ResponseRewrite rrw;
  rrw.request_id = rw.request_id;
  std::string out;
  build_response_head(response.head(), rrw, out);
  EXPECT_GE(out.capacity(), out.size());
  EXPECT_LE(out.capacity(), out.size() + 64) << out;
}

}  // namespace
}  // namespace ferry::proxy
