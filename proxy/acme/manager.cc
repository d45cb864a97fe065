#include "proxy/acme/manager.h"

#include <chrono>
#include <random>

#include "proxy/acme/renewal.h"
#include "proxy/admin/log.h"

namespace ferry::proxy::acme {

namespace {

constexpr int64_t kAriRecheck = 6 * 3600;     // RFC 9773 suggests polling about this often
constexpr int64_t kMaxSleep = 3600;           // a long sleep is cut so clock changes get noticed

int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// What the operator can do about a failed order, by the CA's problem type.
std::string_view hint(std::string_view type) {
  if (type == "dns") return "check that each name's DNS A/AAAA records point at this machine";
  if (type == "connection" || type == "incorrectResponse" || type == "unauthorized")
    return "check that port 80 of each name reaches ferry's plain HTTP listener";
  if (type == "rateLimited") return "the CA rate-limits this account or these names; ferry waits as told";
  if (type == "accountDoesNotExist" || type == "badPublicKey" || type == "badSignatureAlgorithm" ||
      type == "invalidContact" || type == "userActionRequired")
    return "an account problem; check acme.email and the account key in acme.storage";
  if (type == "rejectedIdentifier" || type == "caa") return "the CA will not issue for these names";
  return {};
}

bool covers(const std::vector<std::string>& names, const std::vector<std::string>& domains) {
  for (const std::string& d : domains)
    if (std::find(names.begin(), names.end(), d) == names.end()) return false;
  return true;
}

}  // namespace

Manager::Manager(config::AcmeConfig config, ChallengeTokens& tokens, AcmeBoard& board, CertificateSink on_certificate,
                 ManagerOptions options)
    : config_(std::move(config)),
      tokens_(tokens),
      board_(board),
      on_certificate_(std::move(on_certificate)),
      options_(std::move(options)),
      storage_(config_.storage) {
  if (!options_.now) options_.now = system_now;
  random_state_ = std::random_device()() | (static_cast<uint64_t>(std::random_device()()) << 32);
  status_.domains = config_.domains;
}

Manager::~Manager() { stop(); }

double Manager::draw() {
  if (options_.random) return options_.random();
  // splitmix64: plenty for jitter.
  uint64_t z = (random_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

bool Manager::adopt(const std::string& key_pem, const std::string& chain_pem, int64_t now, bool log) {
  const std::optional<CertificateFacts> facts = certificate_facts(chain_pem);
  const std::string source = storage_.path(Storage::certificate_file(config_.domains.front()));
  tls::CertificateLoad load = tls::CertificateSet::from_pem({{source, chain_pem, source, key_pem}}, now);
  if (!facts || !load.set) {
    if (log) log_error("acme: %s: %s", source.c_str(), load.errors.empty() ? "no certificate" : load.errors.front().c_str());
    return false;
  }
  if (!covers(facts->names, config_.domains)) {
    if (log) log_info("acme: %s does not cover every name of acme.domains; ordering a new one", source.c_str());
    return false;
  }
  current_ = facts;
  renew_at_ = renewal_time(facts->not_before, facts->not_after, draw());
  ari_next_ = now;
  on_certificate_(std::move(load.set));
  return true;
}

bool Manager::load(std::string* error) {
  if (config_.domains.empty()) {
    *error = "acme: no domains";
    return false;
  }
  if (!storage_.prepare(error)) {
    *error = "acme.storage: " + *error;
    return false;
  }
  const int64_t now = options_.now();
  if (const std::optional<std::string> pem = storage_.read(Storage::kAccountKey)) {
    account_key_ = read_private_key(*pem);
    if (!account_key_) {
      *error = "acme.storage: " + storage_.path(Storage::kAccountKey) +
               ": not an ECDSA P-256 private key; move it away to make a new account";
      return false;
    }
  } else {
    account_key_ = new_p256_key();
    const std::string key_pem = account_key_ ? private_key_pem(account_key_.get()) : std::string();
    if (key_pem.empty() || !storage_.write(Storage::kAccountKey, key_pem, error)) {
      *error = "acme.storage: cannot write the account key: " + *error;
      return false;
    }
  }
  // A stored certificate (key first, then the chain, in one file) serves at once.
  if (const std::optional<std::string> stored = storage_.read(Storage::certificate_file(config_.domains.front()))) {
    const std::size_t chain = stored->find("-----BEGIN CERTIFICATE-----");
    if (chain != std::string::npos && adopt(stored->substr(0, chain), stored->substr(chain), now, true))
      log_info("acme: serving the stored certificate for %s (expires %s, renewal due %s)",
               join(current_->names).c_str(), tls::utc_date(current_->not_after).c_str(),
               tls::utc_date(renew_at_).c_str());
  }
  ClientOptions client;
  client.directory = config_.directory;
  client.email = config_.email;
  client.domains = config_.domains;
  client.ca_bundle = config_.ca_bundle;
  client.limits = options_.limits;
  client.validation_timeout_ms = options_.validation_timeout_ms;
  client_ = std::make_unique<AcmeClient>(std::move(client), account_key_.get(), tokens_, &stop_, options_.now);
  publish_status();
  return true;
}

void Manager::start() {
  if (client_ != nullptr && !thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void Manager::stop() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true, std::memory_order_relaxed);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Manager::wake() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Manager::run() {
  while (!stop_.load(std::memory_order_relaxed)) {
    const int64_t now = options_.now();
    const int64_t next = turn(now);
    status_.next_attempt = next;
    publish_status();
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(std::clamp<int64_t>(next - options_.now(), 0, kMaxSleep)),
                 [this] { return wake_ || stop_.load(std::memory_order_relaxed); });
    wake_ = false;
  }
}

int64_t Manager::turn(int64_t now) {
  ask_renewal_info(now);
  if (!current_ || now >= renew_at_) {
    if (failures_ > 0 && status_.next_attempt > now) return status_.next_attempt;  // backing off
    if (!order(now)) return status_.next_attempt;
  }
  status_.renew_at = renew_at_;
  const bool ari = client_->has_renewal_info() && !current_->ari_id.empty();
  return ari ? std::min(renew_at_, ari_next_) : renew_at_;
}

void Manager::ask_renewal_info(int64_t now) {
  if (!current_ || current_->ari_id.empty() || ari_next_ > now) return;
  Problem problem;
  if (!client_->prepare(&problem) || !client_->has_renewal_info()) {
    ari_next_ = now + kAriRecheck;
    return;
  }
  if (const std::optional<RenewalWindow> w = client_->renewal_info(current_->ari_id, &problem)) {
    renew_at_ = window_time(w->start, w->end, draw());
    ari_next_ = w->retry_after ? std::max(*w->retry_after, now + 1) : now + kAriRecheck;
    return;
  }
  log_info("acme: renewal information: %s; renewing at two thirds of the lifetime meanwhile",
           problem.describe().c_str());
  ari_next_ = problem.retry_after ? std::max(*problem.retry_after, now + 1) : now + kAriRecheck;
}

bool Manager::order(int64_t now) {
  Problem problem;
  status_.last_attempt = now;
  std::optional<Issued> issued = client_->order(current_ ? current_->ari_id : std::string(), &problem);
  bad_nonce_retries_.store(client_->bad_nonce_retries(), std::memory_order_relaxed);
  if (stop_.load(std::memory_order_relaxed)) return false;
  std::string error;
  if (issued) {
    const std::string file = Storage::certificate_file(config_.domains.front());
    if (!storage_.write(file, issued->key_pem + issued->chain_pem, &error)) {
      problem = Problem{"", "acme.storage: " + error, std::nullopt};
      issued.reset();
    } else if (!adopt(issued->key_pem, issued->chain_pem, options_.now(), true)) {
      problem = Problem{"", "the CA's certificate does not load or does not cover every domain", std::nullopt};
      issued.reset();
    }
  }
  // The status goes out before the order is counted: whoever sees the count (a scrape, the
  // status page, a test) finds the order's result in the status as well.
  if (issued) {
    failures_ = 0;
    status_.last_result = "success";
    status_.last_error.clear();
    status_.renew_at = renew_at_;
    status_.next_attempt = renew_at_;
    publish_status();
    board_.count_order(true);
    log_info("acme: certificate for %s obtained (expires %s, renewal due %s)", join(current_->names).c_str(),
             tls::utc_date(current_->not_after).c_str(), tls::utc_date(renew_at_).c_str());
    return true;
  }
  ++failures_;
  const int64_t lifetime = current_ ? current_->not_after - current_->not_before : 0;
  int64_t next = options_.now() + retry_delay(failures_, lifetime, draw());
  if (problem.retry_after) next = std::max(next, *problem.retry_after);
  status_.last_result = "failure";
  status_.last_error = problem.describe();
  status_.next_attempt = next;
  publish_status();
  board_.count_order(false);
  const std::string_view advice = hint(problem.short_type());
  log_error("acme: order for %s failed: %s%s%s; %s, next try in %llds", join(config_.domains).c_str(),
            problem.describe().c_str(), advice.empty() ? "" : " (", advice.empty() ? "" : (std::string(advice) + ")").c_str(),
            current_ ? "the current certificate keeps serving" : "no certificate yet",
            static_cast<long long>(next - options_.now()));
  return false;
}

void Manager::publish_status() {
  if (current_) {
    status_.names = current_->names;
    status_.not_after = current_->not_after;
    status_.renew_at = renew_at_;
  }
  board_.set(status_);
}

}  // namespace ferry::proxy::acme
