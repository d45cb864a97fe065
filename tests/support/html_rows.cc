#include "support/html_rows.h"

namespace ferry::testing {

std::string table_row_with(const std::string& html, const std::string& text) {
  const std::size_t at = html.find(text);
  if (at == std::string::npos) return "";
  const std::size_t start = html.rfind("<tr", at);
  const std::size_t end = html.find("</tr>", at);
  if (start == std::string::npos || end == std::string::npos) return "";
  return html.substr(start, end - start);
}

}  // namespace ferry::testing
