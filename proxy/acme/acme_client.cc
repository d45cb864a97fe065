#include "proxy/acme/acme_client.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "proxy/acme/jws.h"
#include "proxy/acme/renewal.h"

namespace ferry::proxy::acme {

namespace {

using Json = nlohmann::json;

constexpr std::string_view kErrorPrefix = "urn:ietf:params:acme:error:";
// Deeper than any ACME document; a deeper one is refused before the parser sees it.
constexpr int kMaxJsonDepth = 32;
constexpr int64_t kFirstPollMs = 100;
constexpr int64_t kMaxPollMs = 2000;

// The nesting depth of a JSON text (brackets outside strings), to refuse bombs cheaply.
int json_depth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// The body as a JSON object; nullopt (with *problem) when it is not one.
std::optional<Json> parse_object(const HttpResponse& r, const std::string& url, Problem* problem) {
  if (json_depth(r.body) <= kMaxJsonDepth) {
    Json doc = Json::parse(r.body, nullptr, false);
    if (!doc.is_discarded() && doc.is_object()) return doc;
  }
  *problem = Problem{"", "bad JSON from " + url + " (HTTP " + std::to_string(r.status) + ")", std::nullopt};
  return std::nullopt;
}

std::string string_field(const Json& doc, const char* name) {
  const auto it = doc.find(name);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> string_list(const Json& doc, const char* name) {
  std::vector<std::string> out;
  const auto it = doc.find(name);
  if (it == doc.end() || !it->is_array()) return out;
  for (const Json& item : *it)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

// A problem document's type and detail, with the first subproblem's for a compound one.
Problem problem_of(const Json& doc) {
  Problem p{string_field(doc, "type"), string_field(doc, "detail"), std::nullopt};
  const auto sub = doc.find("subproblems");
  if (sub != doc.end() && sub->is_array() && !sub->empty() && sub->front().is_object()) {
    const Json& first = sub->front();
    std::string where;
    if (const auto id = first.find("identifier"); id != first.end() && id->is_object())
      where = string_field(*id, "value");
    const Problem inner = problem_of(first);
    p.detail += " (" + (where.empty() ? std::string() : where + ": ") + inner.describe() + ")";
  }
  return p;
}

}  // namespace

std::string Problem::describe() const {
  if (type.empty()) return detail;
  return type + ": " + (detail.empty() ? std::string("(no detail)") : detail);
}

std::string_view Problem::short_type() const {
  std::string_view t = type;
  if (t.starts_with(kErrorPrefix)) t.remove_prefix(kErrorPrefix.size());
  return t;
}

struct AcmeClient::State {
  bool directory_loaded = false;
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string renewal_info;
  std::string account_url;  // the kid
  std::string thumbprint;
  std::string nonce;
};

AcmeClient::AcmeClient(ClientOptions options, EVP_PKEY* account_key, ChallengeTokens& tokens,
                       const std::atomic<bool>* stop, Clock now)
    : options_(std::move(options)),
      account_key_(account_key),
      tokens_(tokens),
      stop_(stop),
      now_(std::move(now)),
      http_(options_.ca_bundle, options_.limits, stop),
      state_(std::make_unique<State>()) {}

AcmeClient::~AcmeClient() = default;

bool AcmeClient::pause(int64_t ms) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (stop_ != nullptr && stop_->load(std::memory_order_relaxed)) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
  }
  return stop_ == nullptr || !stop_->load(std::memory_order_relaxed);
}

// Every URL the server hands out must be of the directory's scheme: an https directory cannot
// send ferry to plain http.
static bool same_scheme(const std::string& directory, const std::string& url) {
  const bool https = directory.starts_with("https://");
  return https ? url.starts_with("https://") : (url.starts_with("http://") || url.starts_with("https://"));
}

bool AcmeClient::load_directory(Problem* problem) {
  if (state_->directory_loaded) return true;
  const HttpResponse r = http_.request(HttpClient::Method::Get, options_.directory);
  if (!r.ok()) {
    *problem = Problem{"", "directory " + options_.directory + ": " +
                               (r.status == 0 ? r.error : "HTTP " + std::to_string(r.status) +
                                                              (r.status >= 300 && r.status < 400
                                                                   ? " (a redirect; ferry follows none)"
                                                                   : "")),
                       retry_after_time(r.retry_after, now_())};
    return false;
  }
  const std::optional<Json> doc = parse_object(r, options_.directory, problem);
  if (!doc) return false;
  State& s = *state_;
  s.new_nonce = string_field(*doc, "newNonce");
  s.new_account = string_field(*doc, "newAccount");
  s.new_order = string_field(*doc, "newOrder");
  s.renewal_info = string_field(*doc, "renewalInfo");
  for (const std::string* url : {&s.new_nonce, &s.new_account, &s.new_order}) {
    if (url->empty() || !same_scheme(options_.directory, *url)) {
      *problem = Problem{"", "directory " + options_.directory + " lacks newNonce, newAccount or newOrder URLs of its scheme",
                         std::nullopt};
      return false;
    }
  }
  if (!s.renewal_info.empty() && !same_scheme(options_.directory, s.renewal_info)) s.renewal_info.clear();
  s.directory_loaded = true;
  return true;
}

bool AcmeClient::fresh_nonce(Problem* problem) {
  const HttpResponse r = http_.request(HttpClient::Method::Head, state_->new_nonce);
  if (r.replay_nonce.empty()) {
    *problem = Problem{"", "newNonce " + state_->new_nonce + ": " +
                               (r.status == 0 ? r.error : "no Replay-Nonce (HTTP " + std::to_string(r.status) + ")"),
                       std::nullopt};
    return false;
  }
  state_->nonce = r.replay_nonce;
  return true;
}

HttpResponse AcmeClient::post(const std::string& url, std::string_view payload, Problem* problem, const char* accept) {
  HttpResponse r;
  if (!same_scheme(options_.directory, url)) {
    *problem = Problem{"", "the server sent a URL of another scheme: " + url, std::nullopt};
    return r;
  }
  for (unsigned attempt = 0;; ++attempt) {
    if (state_->nonce.empty() && !fresh_nonce(problem)) return HttpResponse{};
    const std::string body = jws(account_key_, state_->account_url, state_->nonce, url, payload);
    state_->nonce.clear();  // each nonce is good once
    if (body.empty()) {
      *problem = Problem{"", "cannot sign the request (OpenSSL)", std::nullopt};
      return HttpResponse{};
    }
    r = http_.request(HttpClient::Method::Post, url, body, accept);
    state_->nonce = r.replay_nonce;
    if (r.ok()) return r;
    if (r.status == 0) {
      *problem = Problem{"", url + ": " + r.error, std::nullopt};
      return r;
    }
    Problem p{"", url + ": HTTP " + std::to_string(r.status), retry_after_time(r.retry_after, now_())};
    if (r.content_type.starts_with("application/problem+json") && json_depth(r.body) <= kMaxJsonDepth) {
      const Json doc = Json::parse(r.body, nullptr, false);
      if (!doc.is_discarded() && doc.is_object()) {
        const std::optional<int64_t> retry_after = p.retry_after;
        p = problem_of(doc);
        p.retry_after = retry_after;
      }
    }
    if (p.short_type() == "badNonce" && attempt < options_.max_bad_nonce_retries) {
      ++bad_nonce_retries_;
      continue;
    }
    *problem = std::move(p);
    return r;
  }
}

bool AcmeClient::find_account(Problem* problem) {
  if (!state_->account_url.empty()) return true;
  Json payload = {{"termsOfServiceAgreed", true}};
  if (!options_.email.empty()) payload["contact"] = Json::array({"mailto:" + options_.email});
  const HttpResponse r = post(state_->new_account, payload.dump(), problem);
  if (!r.ok()) return false;
  if (r.location.empty() || !same_scheme(options_.directory, r.location)) {
    *problem = Problem{"", "newAccount answered without the account's URL (Location)", std::nullopt};
    return false;
  }
  state_->account_url = r.location;
  state_->thumbprint = jwk_thumbprint(account_key_);
  return !state_->thumbprint.empty();
}

bool AcmeClient::prepare(Problem* problem) { return load_directory(problem) && find_account(problem); }

bool AcmeClient::has_renewal_info() const { return !state_->renewal_info.empty(); }

std::optional<Issued> AcmeClient::order(std::string_view replaces, Problem* problem) {
  if (!prepare(problem)) return std::nullopt;
  // Whatever way this ends, the challenges' answers are withdrawn.
  struct Withdraw {
    ChallengeTokens& tokens;
    ~Withdraw() { tokens.publish({}); }
  } withdraw{tokens_};
  const int64_t deadline_ms = options_.validation_timeout_ms;

  Json identifiers = Json::array();
  for (const std::string& d : options_.domains) identifiers.push_back({{"type", "dns"}, {"value", d}});
  Json request = {{"identifiers", identifiers}};
  if (!replaces.empty()) request["replaces"] = std::string(replaces);
  HttpResponse r = post(state_->new_order, request.dump(), problem);
  if (!r.ok() && !replaces.empty() && r.status != 0 && problem->short_type() != "rateLimited") {
    // A CA may refuse `replaces` (already replaced, unknown): order afresh.
    request.erase("replaces");
    r = post(state_->new_order, request.dump(), problem);
  }
  if (!r.ok()) return std::nullopt;
  const std::string order_url = r.location;
  std::optional<Json> order = parse_object(r, state_->new_order, problem);
  if (!order) return std::nullopt;
  if (order_url.empty()) {
    *problem = Problem{"", "newOrder answered without the order's URL (Location)", std::nullopt};
    return std::nullopt;
  }

  // Every pending authorization's HTTP-01 challenge: publish all the answers, then ask.
  struct Pending {
    std::string authorization;
    std::string challenge;
    std::string domain;
  };
  std::vector<Pending> pending;
  std::map<std::string, std::string, std::less<>> answers;
  for (const std::string& url : string_list(*order, "authorizations")) {
    r = post_as_get(url, problem);
    if (!r.ok()) return std::nullopt;
    const std::optional<Json> authz = parse_object(r, url, problem);
    if (!authz) return std::nullopt;
    if (string_field(*authz, "status") == "valid") continue;
    std::string domain;
    if (const auto id = authz->find("identifier"); id != authz->end() && id->is_object())
      domain = string_field(*id, "value");
    const auto challenges = authz->find("challenges");
    bool found = false;
    if (challenges != authz->end() && challenges->is_array()) {
      for (const Json& c : *challenges) {
        if (!c.is_object() || string_field(c, "type") != "http-01") continue;
        const std::string token = string_field(c, "token");
        const std::string challenge_url = string_field(c, "url");
        // RFC 8555 8.1: base64url characters only, so it is safe in a path and a response.
        if (token.empty() || token.size() > 256 ||
            token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
                std::string::npos || challenge_url.empty())
          break;
        answers[token] = token + "." + state_->thumbprint;
        pending.push_back({url, challenge_url, domain});
        found = true;
        break;
      }
    }
    if (!found) {
      *problem = Problem{"", "the CA offers no usable http-01 challenge for " + domain, std::nullopt};
      return std::nullopt;
    }
  }
  tokens_.publish(answers);
  for (const Pending& p : pending) {
    r = post(p.challenge, "{}", problem);
    if (!r.ok()) return std::nullopt;
  }
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  };
  // Waits for the server between polls: its Retry-After when it gives one (at most the poll
  // cap), else growing steps. False when time is up or ferry stops.
  int64_t step = kFirstPollMs;
  const auto wait_a_bit = [&](const HttpResponse& last) {
    int64_t ms = step;
    step = std::min(step * 2, kMaxPollMs);
    if (const std::optional<int64_t> at = retry_after_time(last.retry_after, now_()))
      ms = std::clamp<int64_t>((*at - now_()) * 1000, kFirstPollMs, kMaxPollMs);
    if (elapsed_ms() + ms > deadline_ms) {
      *problem = Problem{"", "timed out after " + std::to_string(deadline_ms / 1000) + "s waiting for the CA", std::nullopt};
      return false;
    }
    if (!pause(ms)) {
      *problem = Problem{"", "stopped", std::nullopt};
      return false;
    }
    return true;
  };
  for (const Pending& p : pending) {
    for (;;) {
      r = post_as_get(p.authorization, problem);
      if (!r.ok()) return std::nullopt;
      const std::optional<Json> authz = parse_object(r, p.authorization, problem);
      if (!authz) return std::nullopt;
      const std::string status = string_field(*authz, "status");
      if (status == "valid") break;
      if (status != "pending" && status != "processing") {
        // The challenge's error says why (DNS, connection refused, wrong answer).
        *problem = Problem{"", p.domain + ": authorization " + status, std::nullopt};
        if (const auto cs = authz->find("challenges"); cs != authz->end() && cs->is_array()) {
          for (const Json& c : *cs) {
            if (!c.is_object() || string_field(c, "type") != "http-01") continue;
            if (const auto e = c.find("error"); e != c.end() && e->is_object()) {
              *problem = problem_of(*e);
              problem->detail = p.domain + ": " + problem->detail;
            }
          }
        }
        return std::nullopt;
      }
      if (!wait_a_bit(r)) return std::nullopt;
    }
  }

  // Finalize with a fresh key, then wait for the certificate.
  const tls::EvpPkeyPtr key = new_p256_key();
  const std::string csr = key ? csr_der(key.get(), options_.domains) : std::string();
  const std::string key_pem = key ? private_key_pem(key.get()) : std::string();
  if (csr.empty() || key_pem.empty()) {
    *problem = Problem{"", "cannot make the certificate's key and request (OpenSSL)", std::nullopt};
    return std::nullopt;
  }
  const std::string finalize = string_field(*order, "finalize");
  r = post(finalize, Json{{"csr", base64url(csr)}}.dump(), problem);
  if (!r.ok()) return std::nullopt;
  step = kFirstPollMs;
  for (;;) {
    order = parse_object(r, order_url, problem);
    if (!order) return std::nullopt;
    const std::string status = string_field(*order, "status");
    if (status == "valid") break;
    if (status != "processing" && status != "ready" && status != "pending") {
      *problem = Problem{"", "order " + status, std::nullopt};
      if (const auto e = order->find("error"); e != order->end() && e->is_object()) *problem = problem_of(*e);
      return std::nullopt;
    }
    if (!wait_a_bit(r)) return std::nullopt;
    r = post_as_get(order_url, problem);
    if (!r.ok()) return std::nullopt;
  }
  const std::string certificate_url = string_field(*order, "certificate");
  r = post_as_get(certificate_url, problem, "application/pem-certificate-chain");
  if (!r.ok()) return std::nullopt;
  if (r.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    *problem = Problem{"", certificate_url + ": not a PEM certificate chain", std::nullopt};
    return std::nullopt;
  }
  return Issued{key_pem, r.body};
}

std::optional<RenewalWindow> AcmeClient::renewal_info(std::string_view ari_id, Problem* problem) {
  if (!load_directory(problem)) return std::nullopt;
  if (state_->renewal_info.empty() || ari_id.empty()) {
    *problem = Problem{"", "no renewal information", std::nullopt};
    return std::nullopt;
  }
  std::string url = state_->renewal_info;
  if (!url.ends_with('/')) url += '/';
  url += ari_id;
  const HttpResponse r = http_.request(HttpClient::Method::Get, url);
  if (!r.ok()) {
    *problem = Problem{"", url + ": " + (r.status == 0 ? r.error : "HTTP " + std::to_string(r.status)),
                       retry_after_time(r.retry_after, now_())};
    return std::nullopt;
  }
  const std::optional<Json> doc = parse_object(r, url, problem);
  if (!doc) return std::nullopt;
  const auto window = doc->find("suggestedWindow");
  if (window == doc->end() || !window->is_object()) {
    *problem = Problem{"", url + ": no suggestedWindow", std::nullopt};
    return std::nullopt;
  }
  const std::optional<int64_t> start = parse_rfc3339(string_field(*window, "start"));
  const std::optional<int64_t> end = parse_rfc3339(string_field(*window, "end"));
  if (!start || !end || *end < *start) {
    *problem = Problem{"", url + ": a suggestedWindow without a valid start and end", std::nullopt};
    return std::nullopt;
  }
  return RenewalWindow{*start, *end, retry_after_time(r.retry_after, now_())};
}

}  // namespace ferry::proxy::acme
