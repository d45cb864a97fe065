#include "proxy/acme/http_client.h"

#include <curl/curl.h>

#include <mutex>

namespace ferry::proxy::acme {

namespace {

struct Transfer {
  const HttpLimits* limits;
  const std::atomic<bool>* stop;
  HttpResponse* response;
  std::size_t header_bytes = 0;
  bool too_large = false;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool header_is(std::string_view name, std::string_view wanted) {
  if (name.size() != wanted.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; };
    if (lower(name[i]) != wanted[i]) return false;
  }
  return true;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  const std::size_t n = size * count;
  if (t->response->body.size() + n > t->limits->max_body_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  t->response->body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  const std::size_t n = size * count;
  t->header_bytes += n;
  if (t->header_bytes > t->limits->max_header_bytes) {
    t->too_large = true;
    return 0;
  }
  const std::string_view line(data, n);
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string_view name = line.substr(0, colon);
  const std::string value(trim(line.substr(colon + 1)));
  HttpResponse& r = *t->response;
  if (header_is(name, "replay-nonce")) r.replay_nonce = value;
  else if (header_is(name, "location")) r.location = value;
  else if (header_is(name, "content-type")) r.content_type = value;
  else if (header_is(name, "retry-after")) r.retry_after = value;
  else if (header_is(name, "link") && r.links.size() < 16) r.links.push_back(value);
  return n;
}

int on_progress(void* arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<Transfer*>(arg);
  return t->stop != nullptr && t->stop->load(std::memory_order_relaxed) ? 1 : 0;
}

}  // namespace

HttpClient::HttpClient(std::string ca_bundle, HttpLimits limits, const std::atomic<bool>* stop)
    : ca_bundle_(std::move(ca_bundle)), limits_(limits), stop_(stop) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

HttpResponse HttpClient::request(Method method, const std::string& url, std::string_view body, const char* accept) {
  HttpResponse response;
  auto* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) {
    response.error = "libcurl: out of memory";
    return response;
  }
  curl_easy_reset(curl);
  Transfer transfer{&limits_, stop_, &response};
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, limits_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, limits_.total_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits_.max_body_bytes));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca_bundle_.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_bundle_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "ferry-acme/1");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  if (accept != nullptr && *accept != '\0') headers = curl_slist_append(headers, (std::string("Accept: ") + accept).c_str());
  if (method == Method::Head) {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == Method::Post) {
    headers = curl_slist_append(headers, "Content-Type: application/jose+json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, body.data());
  }
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    response.status = 0;
    response.body.clear();
    if (transfer.too_large || rc == CURLE_FILESIZE_EXCEEDED)
      response.error = "response over " + std::to_string(limits_.max_body_bytes) + " bytes (body) or " +
                       std::to_string(limits_.max_header_bytes) + " bytes (headers)";
    else
      response.error = error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(rc));
    return response;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace ferry::proxy::acme
