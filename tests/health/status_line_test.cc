#include "health/status_line.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::health {
namespace {

using State = StatusLine::State;

TEST(ParseStatusLine, ReadsTheCodeOfAnHttp1StatusLine) {
  EXPECT_EQ(parse_status_line("HTTP/1.1 200 OK\r\n").code, 200);
  EXPECT_EQ(parse_status_line("HTTP/1.1 200 OK\r\n").state, State::Complete);
  EXPECT_EQ(parse_status_line("HTTP/1.0 503 Service Unavailable\r\n").code, 503);
  EXPECT_EQ(parse_status_line("HTTP/1.1 204\r\n").code, 204);  // empty reason phrase
  EXPECT_EQ(parse_status_line("HTTP/1.1 404 ").state, State::Complete);
}

TEST(ParseStatusLine, AsksForMoreWhileThePrefixIsValid) {
  for (const char* partial : {"", "H", "HTTP/1.", "HTTP/1.1", "HTTP/1.1 2", "HTTP/1.1 200"})
    EXPECT_EQ(parse_status_line(partial).state, State::NeedMore) << partial;
}

TEST(ParseStatusLine, RejectsAnythingElse) {
  for (const char* bad : {"X", "http/1.1 200 OK\r\n", "HTTP/2 200\r\n", "HTTP/1.1 20 OK\r\n",
                          "HTTP/1.1  200 OK", "HTTP/1.1 2000 OK", "SSH-2.0-OpenSSH\r\n",
                          "HTTP/1.x 200 OK"})
    EXPECT_EQ(parse_status_line(bad).state, State::Malformed) << bad;
}

}  // namespace
}  // namespace ferry::health
