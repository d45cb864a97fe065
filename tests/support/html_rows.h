// Picking a table row out of an HTML page (the admin status page), so a test can say what one
// backend's row shows rather than what the page holds somewhere.
#pragma once

#include <string>

namespace ferry::testing {

// The <tr ...> element (without its "</tr>") that contains `text`, or "" if no row does.
std::string table_row_with(const std::string& html, const std::string& text);

}  // namespace ferry::testing
