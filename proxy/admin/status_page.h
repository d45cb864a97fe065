// The admin listener's GET /: one server-rendered HTML page, with no script and nothing loaded
// from elsewhere, that reloads itself (<meta http-equiv="refresh">). Everything that comes from
// configuration or from peers (pool and backend names, check messages, file and certificate
// names) is HTML-escaped.
#pragma once

#include <string>

#include "proxy/admin/status_data.h"

namespace ferry::proxy {

// Pure: the same data gives the same page.
std::string render_status_page(const StatusData& data);

}  // namespace ferry::proxy
