// The session-ticket key ring every worker's SSL_CTX shares: previous, current and next keys,
// made in memory with RAND_bytes and never written to disk (the nginx >= 1.23.2 model).
// Tickets are encrypted with the current key and accepted under any key of the ring, so a
// ticket stays good for one to two rotation periods; one decrypted with a key other than the
// current one is renewed. Tickets are stateless, so a session made on one worker (or by a
// context built from the same ring) resumes on any other.
//
// Threads: rotate() and import_ring() may run on any thread (the owner's timer, the
// upgrade handover) and are serialized by a mutex only they take. Handshakes on worker
// threads read the ring through a sequence lock over atomic words: no lock, no atomic
// read-modify-write, so readers never bounce a cache line between cores; a reader that
// overlaps a rotation (hourly, a few hundred nanoseconds) simply reads again.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace ferry::proxy::tls {

class TicketKeys {
 public:
  static constexpr int64_t kDefaultPeriod = 3600;  // seconds between rotations

  struct Key {
    std::array<uint8_t, 16> name;  // sent in the clear at the front of every ticket
    std::array<uint8_t, 32> aes;   // AES-256-CBC
    std::array<uint8_t, 32> hmac;  // HMAC-SHA256
    uint64_t generation;           // 1 for the first key made, +1 per key since
  };
  struct Ring {
    Key previous;
    Key current;
    Key next;
    int64_t rotated_at;  // unix seconds of the last rotation (or of creation)
    int64_t period;      // seconds between rotations
  };

  // A ring of three fresh keys; the first rotation is due at now + period. Null when the
  // random generator fails (or period <= 0).
  static std::shared_ptr<TicketKeys> create(int64_t now, int64_t period = kDefaultPeriod);

  ~TicketKeys();  // wipes the keys
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // Rotates once per whole period elapsed since the last rotation: the current key becomes
  // the previous one, the next one current, and a fresh key the next. After three the ring
  // is all new, and the schedule restarts from `now`. Returns the number of rotations (0:
  // not due yet), or -1 if the random generator failed (the ring is then unchanged). Any
  // thread. Call it from a timer at next_rotation(); calling it early is harmless.
  int rotate(int64_t now);
  int64_t next_rotation() const;  // any thread
  int64_t period() const;         // any thread

  // A consistent copy of the ring. Any thread, lock-free.
  Ring snapshot() const;

  // The ring as bytes, to hand to a new process on a zero-downtime upgrade (over the
  // handover socket, never a file). Secret: wipe it (OPENSSL_cleanse) once sent.
  std::vector<uint8_t> export_ring() const;
  // Replaces the ring (and its schedule) with one export_ring() made. Returns "" or why the
  // bytes were refused (the ring is then unchanged). Any thread.
  std::string import_ring(std::span<const uint8_t> bytes);

  // Makes `ctx` encrypt and decrypt tickets with this ring. The ring must outlive `ctx` and
  // every SSL made from it (ServerContext holds it for that).
  void install(SSL_CTX* ctx) const;

 private:
  static constexpr std::size_t kWords = (sizeof(Ring) + 7) / 8;

  explicit TicketKeys(const Ring& ring);
  void publish(const Ring& ring);  // writer side; writer_mutex_ held (or no reader yet)
  static int on_ticket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                       EVP_MAC_CTX* mac, int encrypt);

  std::mutex writer_mutex_;  // rotate() and import_ring() against each other
  Ring ring_;                // the writer's copy; only under writer_mutex_
  // Readers' copy: sequence_ is odd while a writer is storing words_. Written by the writer
  // (release), read by every worker thread (acquire); see snapshot().
  alignas(64) std::atomic<uint64_t> sequence_{0};
  std::array<std::atomic<uint64_t>, kWords> words_{};
};

}  // namespace ferry::proxy::tls
