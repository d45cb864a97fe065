// The upgrade channel's message: what the old process hands the new one besides the sockets.
#include "proxy/lifecycle/upgrade_channel.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace ferry::proxy::lifecycle {
namespace {

std::string as_text(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

TEST(UpgradeChannel, TheHandoverRoundTrips) {
  Handover in;
  in.drained = {{"default", "10.20.10.31:8000"}, {"api", "[::1]:9000"}};
  in.ticket_ring = {'k', '\n', 0, 'e', 'y'};  // binary, newlines included
  const std::string bytes = as_text(encode_handover(in));
  EXPECT_EQ(bytes.substr(0, bytes.find('\n')), "handover " + std::to_string(bytes.size() - bytes.find('\n') - 1));
  std::string error;
  const std::optional<Handover> out = decode_handover(bytes, &error);
  ASSERT_TRUE(out) << error;
  EXPECT_EQ(out->drained, in.drained);
  EXPECT_EQ(out->ticket_ring, in.ticket_ring);
}

TEST(UpgradeChannel, MalformedMessagesAreRefused) {
  std::string error;
  for (const std::string& bad : {std::string(""), std::string("ticket-keys 0\n"), std::string("handover 5\nabc"),
                                std::string("handover 14\nticket-keys 9\n"), std::string("handover 6\nhello\n"),
                                std::string("handover 22\ndrained x\nticket-keys 0\n")}) {
    EXPECT_FALSE(decode_handover(bad, &error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

TEST(UpgradeChannel, TheNewProcessReadsWhatTheOldOneWrote) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  Handover in;
  in.drained = {{"default", "127.0.0.1:8001"}};
  in.ticket_ring.assign(300, 7);
  const std::vector<uint8_t> bytes = encode_handover(in);
  ASSERT_EQ(::write(pair[0], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  UpgradeChannel channel(pair[1]);
  Handover out;
  std::string error;
  ASSERT_TRUE(channel.receive(&out, &error, 1000)) << error;
  EXPECT_EQ(out.drained, in.drained);
  EXPECT_EQ(out.ticket_ring, in.ticket_ring);
  channel.report_ready();
  char reply[64] = {};
  ASSERT_GT(::read(pair[0], reply, sizeof reply - 1), 0);
  EXPECT_EQ(std::string(reply), "ready " + std::to_string(::getpid()) + "\n");
  ::close(pair[0]);
}

TEST(UpgradeChannel, SilenceIsAnErrorNotAHang) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  UpgradeChannel channel(pair[1]);
  Handover out;
  std::string error;
  EXPECT_FALSE(channel.receive(&out, &error, 50));
  EXPECT_NE(error.find("nothing within 50 ms"), std::string::npos) << error;
  ::close(pair[0]);
}

}  // namespace
}  // namespace ferry::proxy::lifecycle
