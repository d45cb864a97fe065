#include "proxy/tls/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "support/heap_in_use.h"
#include "tls_test_support.h"

// The glue between a byte stream and OpenSSL: records in any pieces, bad input of every
// kind ending in a clear error (never an endless WantMore), EOFs, close_notify, records
// OpenSSL sends on its own, record sizes, and what an idle session holds.
namespace ferry::proxy::tls {
namespace {

using namespace testing;
using Status = Session::Status;

std::string pattern(std::size_t n, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::shared_ptr<const ClientContext> client_up_to(int max_version) {
  auto ctx = client_context(no_verify());
  SSL_CTX_set_max_proto_version(ctx->native(), max_version);
  return ctx;
}

struct Pair {
  Peer client;
  Peer server;
};

Pair fresh_pair(int max_version = TLS1_3_VERSION) {
  static const auto server_ctx = server_context();
  Pair p;
  p.client.session = Session::client(client_up_to(max_version), "example.com");
  p.server.session = Session::server(server_ctx);
  return p;
}

// Writes `data` from one side and exchanges until quiet.
void send(Peer& from, Peer& to, std::string_view data, Pair& pair,
          const Splitter& split = whole()) {
  const Session::Result r = from.session->write(data);
  ASSERT_EQ(r.status, Status::Ok) << from.error();
  ASSERT_EQ(r.bytes, data.size());
  (void)to;
  exchange(pair.client, pair.server, split);
}

class SessionOverSplits : public ::testing::TestWithParam<int> {};

TEST_P(SessionOverSplits, OneByteAtATime) {
  Pair p = fresh_pair(GetParam());
  ASSERT_TRUE(connect(p.client, p.server, bytewise()))
      << p.server.error() << " / " << p.client.error();
  const std::string request = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
  const std::string response = pattern(20000);
  send(p.client, p.server, request, p, bytewise());
  send(p.server, p.client, response, p, bytewise());
  EXPECT_EQ(p.server.received, request);
  EXPECT_EQ(p.client.received, response);
}

TEST_P(SessionOverSplits, RandomPieces) {
  for (uint32_t seed = 1; seed <= 25; ++seed) {
    Pair p = fresh_pair(GetParam());
    const Splitter split = random_pieces(seed);
    ASSERT_TRUE(connect(p.client, p.server, split)) << "seed " << seed << ": " << p.server.error();
    std::string sent_up, sent_down;
    std::mt19937 rng(seed);
    for (int round = 0; round < 5; ++round) {
      const std::string up = pattern(1 + rng() % 3000, seed * 100 + round);
      const std::string down = pattern(1 + rng() % 90000, seed * 1000 + round);
      send(p.client, p.server, up, p, split);
      send(p.server, p.client, down, p, split);
      sent_up += up;
      sent_down += down;
    }
    EXPECT_EQ(p.server.received, sent_up) << "seed " << seed;
    EXPECT_EQ(p.client.received, sent_down) << "seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, SessionOverSplits,
                         ::testing::Values(TLS1_3_VERSION, TLS1_2_VERSION),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return param_info.param == TLS1_3_VERSION ? "Tls13" : "Tls12";
                         });

std::unique_ptr<Session> bare_server() {
  static const auto server_ctx = server_context();
  return Session::server(server_ctx);
}

TEST(SessionBadInput, PlainHttpIsAClearErrorAtOnce) {
  auto server = bare_server();
  server->feed("GET / HTTP/1.1\r\n");
  const Session::Result r = server->handshake();
  EXPECT_EQ(r.status, Status::Error);
  EXPECT_EQ(server->error(), "handshake: http request (plain HTTP sent to a TLS port)");
}

TEST(SessionBadInput, FourBytesAreNotYetARecordHeaderTheFifthDecides) {
  auto server = bare_server();
  server->feed("POST");
  EXPECT_EQ(server->handshake().status, Status::WantMore);
  server->feed(" ");
  EXPECT_EQ(server->handshake().status, Status::Error);
  EXPECT_EQ(server->error(), "handshake: http request (plain HTTP sent to a TLS port)");
}

TEST(SessionBadInput, GarbageIsNotTls) {
  auto server = bare_server();
  server->feed(std::string("\x42\x13\x37\x00\x10", 5) + pattern(16));
  EXPECT_EQ(server->handshake().status, Status::Error);
  EXPECT_EQ(server->error(),
            "handshake: wrong version number (not TLS, or a TLS version ferry does not speak)");
}

TEST(SessionBadInput, AnOversizedRecordLengthFailsWithoutWaitingForTheBody) {
  auto server = bare_server();
  server->feed(std::string("\x16\x03\x01\xff\xff", 5));
  EXPECT_EQ(server->handshake().status, Status::Error);
  EXPECT_NE(server->error().find("length too long"), std::string::npos) << server->error();
}

TEST(SessionBadInput, AGarbageClientHelloIsRefusedWithAnAlert) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    auto server = bare_server();
    const std::string body = pattern(40 + seed * 7, seed);
    std::string record = "\x16\x03\x01";
    record.push_back(static_cast<char>(body.size() >> 8));
    record.push_back(static_cast<char>(body.size()));
    server->feed(record + body);
    EXPECT_EQ(server->handshake().status, Status::Error) << "seed " << seed;
    EXPECT_EQ(server->error().rfind("handshake: ", 0), 0u);
  }
  // One whose handshake header is right and whose body is not.
  auto server = bare_server();
  std::string hello = std::string("\x01\x00\x00\x30\x03\x03", 6) + pattern(0x2e, 99);
  server->feed(std::string("\x16\x03\x01\x00\x34", 5) + hello);
  EXPECT_EQ(server->handshake().status, Status::Error);
  EXPECT_FALSE(server->output().empty());  // the alert for the client
}

TEST(SessionBadInput, ATruncatedClientHelloThenEofIsAnError) {
  Pair p = fresh_pair();
  p.client.pump();
  const std::string hello(p.client.session->output());
  ASSERT_GT(hello.size(), 100u);
  p.server.session->feed(hello.substr(0, hello.size() / 2));
  EXPECT_EQ(p.server.session->handshake().status,
            Status::WantMore);  // a stalled client: the timeout's job
  p.server.session->feed_eof();
  EXPECT_EQ(p.server.session->handshake().status, Status::Error);
  EXPECT_EQ(p.server.error(), "handshake: peer closed the connection during the handshake");
}

TEST(SessionBadInput, EofMidRecordIsAnError) {
  Pair p = fresh_pair();
  ASSERT_TRUE(connect(p.client, p.server));
  ASSERT_EQ(p.client.session->write("GET / HTTP/1.1\r\n\r\n").status, Status::Ok);
  const std::string record(p.client.session->output());
  p.server.session->feed(record.substr(0, record.size() - 3));
  char buf[64];
  EXPECT_EQ(p.server.session->read(buf, sizeof buf).status, Status::WantMore);
  p.server.session->feed_eof();
  EXPECT_EQ(p.server.session->read(buf, sizeof buf).status, Status::Error);
  EXPECT_EQ(p.server.error(), "peer closed the connection mid-record");
}

TEST(SessionBadInput, EofWithoutCloseNotifyIsAnError) {
  Pair p = fresh_pair();
  ASSERT_TRUE(connect(p.client, p.server));
  p.server.session->feed_eof();
  char buf[64];
  EXPECT_EQ(p.server.session->read(buf, sizeof buf).status, Status::Error);
  EXPECT_EQ(p.server.error(), "peer closed the connection without close_notify");
}

TEST(SessionBadInput, AFlippedByteFailsTheRecordAndTheErrorIsFinal) {
  Pair p = fresh_pair();
  ASSERT_TRUE(connect(p.client, p.server));
  ASSERT_EQ(p.client.session->write("hello").status, Status::Ok);
  std::string record(p.client.session->output());
  record[record.size() - 1] ^= 1;
  p.server.session->feed(record);
  char buf[64];
  EXPECT_EQ(p.server.session->read(buf, sizeof buf).status, Status::Error);
  EXPECT_EQ(p.server.error(), "decryption failed or bad record mac");
  EXPECT_FALSE(p.server.session->output().empty());  // the bad_record_mac alert, sent from read()
  p.server.session->feed("more");
  EXPECT_EQ(p.server.session->read(buf, sizeof buf).status, Status::Error);
  EXPECT_EQ(p.server.session->write("x").status, Status::Error);
  p.server.session->consume_output(p.server.session->output().size());
  EXPECT_EQ(p.server.session->buffered_bytes(), 0u);  // the unread input was dropped
}

TEST(SessionClose, CloseNotifyReadsAsClosedOnBothSides) {
  Pair p = fresh_pair();
  ASSERT_TRUE(connect(p.client, p.server));
  send(p.client, p.server, "last words", p);
  p.client.session->shutdown();
  exchange(p.client, p.server);
  EXPECT_EQ(p.server.received, "last words");
  EXPECT_TRUE(p.server.closed());
  p.server.session->shutdown();
  exchange(p.client, p.server);
  EXPECT_TRUE(p.client.closed());
  char buf[8];
  EXPECT_EQ(p.server.session->read(buf, sizeof buf).status, Status::Closed);
}

TEST(SessionClose, ShutdownBeforeTheHandshakeSendsNothing) {
  Pair p = fresh_pair();
  p.server.session->shutdown();
  EXPECT_TRUE(p.server.session->output().empty());
}

TEST(SessionOutput, NewSessionTicketsFollowTheServersHandshake) {
  Pair p = fresh_pair();
  p.client.pump();
  ASSERT_TRUE(exchange(p.client, p.server) > 0);
  ASSERT_TRUE(p.server.session->handshake_done());
  // No plaintext was written, yet the client read records: the server's tickets.
  EXPECT_EQ(p.client.last, Status::WantMore);
  EXPECT_NE(SSL_get_session(p.client.session->native()), nullptr);
}

std::vector<std::size_t> record_sizes(std::string_view wire) {
  std::vector<std::size_t> sizes;
  while (wire.size() >= 5) {
    const std::size_t length =
        (static_cast<unsigned char>(wire[3]) << 8) | static_cast<unsigned char>(wire[4]);
    sizes.push_back(5 + length);
    wire.remove_prefix(std::min(wire.size(), 5 + length));
  }
  return sizes;
}

// OpenSSL 3.0 queues its answer to a KeyUpdate and sends it before the next record it
// writes; what a read does emit on its own (tickets, alerts) is tested elsewhere here.
TEST(SessionOutput, AKeyUpdateIsAnsweredBeforeTheNextWrite) {
  Pair p = fresh_pair();
  ASSERT_TRUE(connect(p.client, p.server));
  ASSERT_EQ(SSL_key_update(p.client.session->native(), SSL_KEY_UPDATE_REQUESTED), 1);
  ASSERT_EQ(p.client.session->write("after update").status, Status::Ok);
  p.server.session->feed(p.client.session->output());
  p.client.session->consume_output(p.client.session->output().size());
  char buf[64];
  const Session::Result r = p.server.session->read(buf, sizeof buf);
  ASSERT_EQ(r.status, Status::Ok);
  EXPECT_EQ(std::string(buf, r.bytes), "after update");
  ASSERT_EQ(p.server.session->write("reply under new keys").status, Status::Ok);
  // The KeyUpdate (one record) and the reply (another).
  EXPECT_EQ(record_sizes(p.server.session->output()).size(), 2u);
  exchange(p.client, p.server);
  EXPECT_EQ(p.client.received, "reply under new keys");
  send(p.client, p.server, "and back", p);
  EXPECT_EQ(p.server.received, "and back");
}

TEST(SessionOutput, WritingBeforeTheHandshakeWantsMore) {
  Pair p = fresh_pair();
  const Session::Result early = p.client.session->write("too soon");
  EXPECT_EQ(early.status, Status::WantMore);
  EXPECT_EQ(early.bytes, 0u);
  EXPECT_FALSE(p.client.session->output().empty());  // the ClientHello, though
  EXPECT_EQ(p.server.session->write("too soon").status, Status::WantMore);
  exchange(p.client, p.server);
  EXPECT_EQ(p.client.session->write("now").status, Status::Ok);
}

TEST(SessionOutput, TheFirst64KiBGoOutInSmallRecords) {
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Pair p = fresh_pair(version);
    ASSERT_TRUE(connect(p.client, p.server));
    ASSERT_EQ(p.server.session->write(pattern(200 * 1024)).status, Status::Ok);
    const std::vector<std::size_t> sizes = record_sizes(p.server.session->output());
    std::size_t small = 0;
    for (const std::size_t s : sizes) {
      if (s <= 1400) ++small;
    }
    EXPECT_EQ(small, (64 * 1024 + 1370) / 1371) << "version " << version;
    EXPECT_LE(sizes.front(), 1400u);
    EXPECT_GT(*std::max_element(sizes.begin(), sizes.end()),
              16384u);  // full size after the warm-up
    exchange(p.client, p.server);
    EXPECT_EQ(p.client.received.size(), 200u * 1024);
    p.server.session->restart_small_records();
    ASSERT_EQ(p.server.session->write(pattern(5000)).status, Status::Ok);
    EXPECT_LE(record_sizes(p.server.session->output()).front(), 1400u);
  }
}

TEST(SessionOutput, ASinkReceivesEveryByteAndNothingIsBuffered) {
  Pair p = fresh_pair();
  std::string wire;
  p.server.session->set_output_sink(
      [](void* owner, const char* data, std::size_t length) {
        static_cast<std::string*>(owner)->append(data, length);
      },
      &wire);
  p.client.pump();
  for (int round = 0; round < 10 && !p.client.session->handshake_done(); ++round) {
    p.server.session->feed(p.client.session->output());
    p.client.session->consume_output(p.client.session->output().size());
    p.server.pump();
    EXPECT_TRUE(p.server.session->output().empty());
    p.client.session->feed(wire);
    wire.clear();
    p.client.pump();
  }
  ASSERT_TRUE(p.client.session->handshake_done());
  p.server.session->feed(p.client.session->output());  // the client's Finished
  p.client.session->consume_output(p.client.session->output().size());
  p.server.pump();
  ASSERT_TRUE(p.server.session->handshake_done());
  ASSERT_EQ(p.server.session->write("through the sink").status, Status::Ok);
  EXPECT_TRUE(p.server.session->output().empty());
  p.client.session->feed(wire);
  p.client.pump();
  EXPECT_EQ(p.client.received, "through the sink");
}

TEST(SessionInput, OneReadDrainsSeveralRecords) {
  Pair p = fresh_pair();
  ASSERT_TRUE(connect(p.client, p.server));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(p.client.session->write(pattern(100, i)).status, Status::Ok);
  }
  p.server.session->feed(p.client.session->output());
  char buf[4096];
  const Session::Result r = p.server.session->read(buf, sizeof buf);
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.bytes, 300u);
  EXPECT_EQ(p.server.session->read(buf, sizeof buf).status, Status::WantMore);
}

TEST(SessionInput, ASmallReadBufferTakesARecordInParts) {
  Pair p = fresh_pair();
  ASSERT_TRUE(connect(p.client, p.server));
  const std::string data = pattern(1000);
  ASSERT_EQ(p.client.session->write(data).status, Status::Ok);
  p.server.session->feed(p.client.session->output());
  std::string got;
  char buf[7];
  for (;;) {
    const Session::Result r = p.server.session->read(buf, sizeof buf);
    if (r.status != Status::Ok) break;
    EXPECT_LE(r.bytes, sizeof buf);
    got.append(buf, r.bytes);
  }
  EXPECT_EQ(got, data);
}

TEST(SessionMemory, AnIdleSessionHoldsNoBuffersOfItsOwn) {
  Pair p = fresh_pair();
  ASSERT_TRUE(connect(p.client, p.server));
  send(p.client, p.server, pattern(5000), p);
  send(p.server, p.client, pattern(70000), p);
  EXPECT_EQ(p.server.session->buffered_bytes(), 0u);
  EXPECT_EQ(p.client.session->buffered_bytes(), 0u);
}

using ferry::testing::heap_in_use;
using ferry::testing::heap_in_use_sees_allocations;

// Heap held per idle server connection (Session + SSL + whatever OpenSSL keeps) after a
// handshake and one 1 KiB request and response, with and without SSL_MODE_RELEASE_BUFFERS.
std::size_t idle_server_bytes(bool release_buffers, int max_version) {
  constexpr int kConnections = 200;
  const auto server_ctx = server_context();
  const auto client_ctx = client_up_to(max_version);
  std::vector<std::unique_ptr<Session>> servers;
  servers.reserve(kConnections);
  const std::size_t before = heap_in_use();
  for (int i = 0; i < kConnections; ++i) {
    Pair p;
    p.client.session = Session::client(client_ctx, "example.com");
    p.server.session = Session::server(server_ctx);
    if (!release_buffers) SSL_clear_mode(p.server.session->native(), SSL_MODE_RELEASE_BUFFERS);
    EXPECT_TRUE(connect(p.client, p.server));
    send(p.client, p.server, pattern(1024), p);
    send(p.server, p.client, pattern(1024), p);
    servers.push_back(std::move(p.server.session));
  }
  const std::size_t after = heap_in_use();
  return (after - before) / kConnections;
}

TEST(SessionMemory, ReleaseBuffersKeepsIdleConnectionsSmall) {
  ASSERT_TRUE(heap_in_use_sees_allocations()) << "this allocator does not report what it holds";
  idle_server_bytes(true, TLS1_3_VERSION);  // OpenSSL's lazily made globals, once
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    const std::size_t released = idle_server_bytes(true, version);
    const std::size_t kept = idle_server_bytes(false, version);
    const char* name = version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2";
    std::printf(
        "[ memory   ] idle server connection, %s: %zu bytes with SSL_MODE_RELEASE_BUFFERS, %zu "
        "without\n",
        name, released, kept);
    ::testing::Test::RecordProperty(std::string("idle_bytes_release_") + name,
                                    static_cast<int>(released));
    ::testing::Test::RecordProperty(std::string("idle_bytes_keep_") + name, static_cast<int>(kept));
    EXPECT_LT(released + 30 * 1024, kept);  // the two 16 KiB+ record buffers
    // Measured on Debian 12's OpenSSL 3.0: about 14.5 KiB, of which SSL_new alone is about
    // 8.5 KiB and the rest what OpenSSL keeps after the handshake (session, cipher states).
    EXPECT_LT(released, 16u * 1024);
  }
}

}  // namespace
}  // namespace ferry::proxy::tls
