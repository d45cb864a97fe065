#include "proxy/acme/challenge_tokens.h"

namespace ferry::proxy::acme {

void ChallengeTokens::publish(std::map<std::string, std::string, std::less<>> answers) {
  current_.store(std::make_shared<const Answers>(std::move(answers)), std::memory_order_release);
}

std::optional<std::string> ChallengeTokens::answer(std::string_view target) const {
  if (!target.starts_with(kPathPrefix)) return std::nullopt;
  std::string_view token = target.substr(kPathPrefix.size());
  token = token.substr(0, token.find('?'));
  const std::shared_ptr<const Answers> answers = current_.load(std::memory_order_acquire);
  if (!answers || token.empty()) return std::nullopt;
  const auto it = answers->find(token);
  if (it == answers->end()) return std::nullopt;
  return it->second;
}

}  // namespace ferry::proxy::acme
