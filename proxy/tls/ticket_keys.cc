#include "proxy/tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <thread>
#include <type_traits>

namespace ferry::proxy::tls {
namespace {

static_assert(std::is_trivially_copyable_v<TicketKeys::Ring>);
static_assert(sizeof(TicketKeys::Ring) % 8 == 0, "the ring is copied as whole words");

constexpr char kExportMagic[8] = {'F', 'E', 'R', 'R', 'Y', 'T', 'K', '1'};
constexpr std::size_t kKeyBytes = 16 + 32 + 32 + 8;
constexpr std::size_t kExportBytes = sizeof kExportMagic + 8 + 8 + 3 * kKeyBytes;

int ring_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Fetched once: the implicit fetch behind EVP_aes_256_cbc() looks the algorithm up again on
// every ticket.
const EVP_CIPHER* aes_256_cbc() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return cipher;
}

bool fresh_key(uint64_t generation, TicketKeys::Key& key) {
  key.generation = generation;
  return RAND_bytes(key.name.data(), static_cast<int>(key.name.size())) == 1 &&
         RAND_bytes(key.aes.data(), static_cast<int>(key.aes.size())) == 1 &&
         RAND_bytes(key.hmac.data(), static_cast<int>(key.hmac.size())) == 1;
}

void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void put_key(std::vector<uint8_t>& out, const TicketKeys::Key& key) {
  out.insert(out.end(), key.name.begin(), key.name.end());
  out.insert(out.end(), key.aes.begin(), key.aes.end());
  out.insert(out.end(), key.hmac.begin(), key.hmac.end());
  put_u64(out, key.generation);
}

const uint8_t* get_key(const uint8_t* p, TicketKeys::Key& key) {
  std::memcpy(key.name.data(), p, key.name.size());
  p += key.name.size();
  std::memcpy(key.aes.data(), p, key.aes.size());
  p += key.aes.size();
  std::memcpy(key.hmac.data(), p, key.hmac.size());
  p += key.hmac.size();
  key.generation = get_u64(p);
  return p + 8;
}

bool set_hmac_key(EVP_MAC_CTX* mac, const TicketKeys::Key& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<uint8_t*>(key.hmac.data()),
                                        key.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace

std::shared_ptr<TicketKeys> TicketKeys::create(int64_t now, int64_t period) {
  if (period <= 0) return nullptr;
  Ring ring{};
  ring.rotated_at = now;
  ring.period = period;
  const bool made =
      fresh_key(1, ring.previous) && fresh_key(2, ring.current) && fresh_key(3, ring.next);
  std::shared_ptr<TicketKeys> keys;
  if (made) keys.reset(new TicketKeys(ring));
  OPENSSL_cleanse(&ring, sizeof ring);
  return keys;
}

TicketKeys::TicketKeys(const Ring& ring) : ring_(ring) { publish(ring_); }

TicketKeys::~TicketKeys() {
  OPENSSL_cleanse(&ring_, sizeof ring_);
  for (std::atomic<uint64_t>& word : words_) word.store(0, std::memory_order_relaxed);
}

void TicketKeys::publish(const Ring& ring) {
  std::array<uint64_t, kWords> copy{};
  std::memcpy(copy.data(), &ring, sizeof ring);
  const uint64_t sequence = sequence_.load(std::memory_order_relaxed);
  sequence_.store(sequence + 1, std::memory_order_relaxed);
  // Release stores: a reader that sees any new word also sees the odd sequence before it,
  // so its closing check fails and it reads again.
  for (std::size_t i = 0; i < kWords; ++i) words_[i].store(copy[i], std::memory_order_release);
  sequence_.store(sequence + 2, std::memory_order_release);
  OPENSSL_cleanse(copy.data(), sizeof copy);
}

TicketKeys::Ring TicketKeys::snapshot() const {
  std::array<uint64_t, kWords> copy{};
  for (;;) {
    const uint64_t before = sequence_.load(std::memory_order_acquire);
    if ((before & 1) != 0) {  // a writer is mid-way (nanoseconds, unless it was preempted)
      std::this_thread::yield();
      continue;
    }
    // Acquire loads keep the closing sequence load after them.
    for (std::size_t i = 0; i < kWords; ++i) copy[i] = words_[i].load(std::memory_order_acquire);
    if (sequence_.load(std::memory_order_relaxed) == before) break;
  }
  Ring ring;
  std::memcpy(&ring, copy.data(), sizeof ring);
  OPENSSL_cleanse(copy.data(), sizeof copy);
  return ring;
}

int TicketKeys::rotate(int64_t now) {
  const std::lock_guard<std::mutex> lock(writer_mutex_);
  Ring ring = ring_;
  int rotations = 0;
  while (now >= ring.rotated_at + ring.period && rotations < 3) {
    Key fresh{};
    if (!fresh_key(ring.next.generation + 1, fresh)) {
      OPENSSL_cleanse(&ring, sizeof ring);
      return -1;
    }
    ring.previous = ring.current;
    ring.current = ring.next;
    ring.next = fresh;
    ring.rotated_at += ring.period;
    ++rotations;
    OPENSSL_cleanse(&fresh, sizeof fresh);
  }
  // Far behind (a suspended host, a stalled timer): every key is new; restart the schedule.
  if (now >= ring.rotated_at + ring.period) ring.rotated_at = now;
  if (rotations > 0) {
    ring_ = ring;
    publish(ring_);
  }
  OPENSSL_cleanse(&ring, sizeof ring);
  return rotations;
}

int64_t TicketKeys::next_rotation() const {
  Ring ring = snapshot();
  const int64_t next = ring.rotated_at + ring.period;
  OPENSSL_cleanse(&ring, sizeof ring);
  return next;
}

int64_t TicketKeys::period() const {
  Ring ring = snapshot();
  const int64_t period = ring.period;
  OPENSSL_cleanse(&ring, sizeof ring);
  return period;
}

std::vector<uint8_t> TicketKeys::export_ring() const {
  Ring ring = snapshot();
  std::vector<uint8_t> out;
  out.reserve(kExportBytes);
  out.insert(out.end(), std::begin(kExportMagic), std::end(kExportMagic));
  put_u64(out, static_cast<uint64_t>(ring.period));
  put_u64(out, static_cast<uint64_t>(ring.rotated_at));
  put_key(out, ring.previous);
  put_key(out, ring.current);
  put_key(out, ring.next);
  OPENSSL_cleanse(&ring, sizeof ring);
  return out;
}

std::string TicketKeys::import_ring(std::span<const uint8_t> bytes) {
  if (bytes.size() != kExportBytes) {
    return "ticket key ring: expected " + std::to_string(kExportBytes) + " bytes, got " +
           std::to_string(bytes.size());
  }
  if (std::memcmp(bytes.data(), kExportMagic, sizeof kExportMagic) != 0) {
    return "ticket key ring: not an exported ring (bad magic)";
  }
  Ring ring{};
  const uint8_t* p = bytes.data() + sizeof kExportMagic;
  ring.period = static_cast<int64_t>(get_u64(p));
  ring.rotated_at = static_cast<int64_t>(get_u64(p + 8));
  p += 16;
  p = get_key(p, ring.previous);
  p = get_key(p, ring.current);
  get_key(p, ring.next);
  if (ring.period <= 0) {
    OPENSSL_cleanse(&ring, sizeof ring);
    return "ticket key ring: bad rotation period";
  }
  const std::lock_guard<std::mutex> lock(writer_mutex_);
  ring_ = ring;
  publish(ring_);
  OPENSSL_cleanse(&ring, sizeof ring);
  return {};
}

void TicketKeys::install(SSL_CTX* ctx) const {
  SSL_CTX_set_ex_data(ctx, ring_index(), const_cast<TicketKeys*>(this));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeys::on_ticket);
}

// OpenSSL's contract (SSL_CTX_set_tlsext_ticket_key_evp_cb(3)): when encrypting, fill in the
// key name and IV and set up both contexts, return 1; when decrypting, return 0 for an
// unknown key name (a full handshake follows), 1 to accept, 2 to accept and issue a fresh
// ticket, -1 on error. Runs on a worker thread inside a handshake; never throws.
int TicketKeys::on_ticket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                          EVP_MAC_CTX* mac, int encrypt) {
  const auto* self =
      static_cast<const TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ring_index()));
  const EVP_CIPHER* aes = aes_256_cbc();
  if (self == nullptr || aes == nullptr) return -1;
  Ring ring = self->snapshot();
  int result = -1;
  if (encrypt != 0) {
    const Key& key = ring.current;
    const int iv_length = EVP_CIPHER_get_iv_length(aes);
    if (RAND_bytes(iv, iv_length) == 1 && set_hmac_key(mac, key) &&
        EVP_EncryptInit_ex(cipher, aes, nullptr, key.aes.data(), iv) == 1) {
      std::memcpy(name, key.name.data(), key.name.size());
      result = 1;
    }
  } else {
    const Key* key = nullptr;
    for (const Key* candidate : {&ring.current, &ring.previous, &ring.next}) {
      if (std::memcmp(candidate->name.data(), name, candidate->name.size()) == 0) {
        key = candidate;
        break;
      }
    }
    if (key == nullptr) {
      result = 0;  // older than the ring (or never ours): a full handshake, a new ticket
    } else if (set_hmac_key(mac, *key) &&
               EVP_DecryptInit_ex(cipher, aes, nullptr, key->aes.data(), iv) == 1) {
      result = key == &ring.current ? 1 : 2;
    }
  }
  OPENSSL_cleanse(&ring, sizeof ring);
  return result;
}

}  // namespace ferry::proxy::tls
