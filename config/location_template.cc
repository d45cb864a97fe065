#include "config/location_template.h"

#include "config/did_you_mean.h"
#include "config/quote.h"

namespace ferry::config {

namespace {

constexpr std::size_t kMaxLocationLength = 2048;  // far past a real URL; catches a pasted page

std::string placeholder_list() {
  std::string out;
  for (std::size_t i = 0; i < kLocationPlaceholders.size(); ++i) {
    out += i == 0 ? "" : (i + 1 == kLocationPlaceholders.size() ? " and " : ", ");
    out += "#{" + std::string(kLocationPlaceholders[i]) + "}";
  }
  return out;
}

}  // namespace

std::string location_template_problem(std::string_view text) {
  if (text.empty() || text.size() > kMaxLocationLength)
    return "expected a URL or path of 1 to " + std::to_string(kMaxLocationLength) + " characters";
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7f)
      return "expected visible ASCII without spaces (percent-encode anything else, a space as %20)";
  }
  for (std::size_t open = text.find("#{"); open != std::string_view::npos; open = text.find("#{", open + 2)) {
    const std::size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos)
      return "\"#{\" is not closed by \"}\"; the placeholders are " + placeholder_list();
    const std::string_view name = text.substr(open + 2, close - open - 2);
    bool known = false;
    for (std::string_view placeholder : kLocationPlaceholders) known = known || placeholder == name;
    if (known) continue;
    std::string message = "unknown placeholder " + quote("#{" + std::string(name) + "}") +
                          "; the placeholders are " + placeholder_list();
    if (const std::optional<std::string_view> hint = closest_name(name, kLocationPlaceholders))
      message += "; did you mean " + quote("#{" + std::string(*hint) + "}") + "?";
    return message;
  }
  return "";
}

}  // namespace ferry::config
