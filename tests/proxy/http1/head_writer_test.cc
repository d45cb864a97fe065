// HeadWriter: what it leaves in the string is exactly what was written after what was there,
// however far the head outgrows the room first made for it.
#include "proxy/http1/head_writer.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ferry::proxy
