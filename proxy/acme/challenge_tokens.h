// The HTTP-01 answers (RFC 8555 8.3) the ACME thread has published, read by every worker for
// requests under /.well-known/acme-challenge/. Published as a whole new immutable map behind
// an atomic shared_ptr: the ACME thread stores, a worker loads only when a request's path has
// the prefix, so no other request ever touches it and no lock is taken.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::proxy::acme {

class ChallengeTokens {
 public:
  static constexpr std::string_view kPathPrefix = "/.well-known/acme-challenge/";

  // ACME thread. Replaces every published answer: token -> key authorization.
  void publish(std::map<std::string, std::string, std::less<>> answers);

  // Any thread. The key authorization for the request target `target` (a path that starts with
  // kPathPrefix, maybe with a query), or nullopt for an unknown token.
  std::optional<std::string> answer(std::string_view target) const;

 private:
  using Answers = std::map<std::string, std::string, std::less<>>;
  std::atomic<std::shared_ptr<const Answers>> current_;  // written by the ACME thread, read by workers
};

}  // namespace ferry::proxy::acme
