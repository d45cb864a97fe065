// redirect.location: a URL (or path) template with ALB's placeholders.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace ferry::config {

// What each stands for is the routing table's business (balancer/routing/route_table.h,
// expand_location); here they are only the names a template may use.
inline constexpr std::array<std::string_view, 5> kLocationPlaceholders{"protocol", "host", "port", "path",
                                                                       "query"};

// "" when `text` is a usable Location template: 1 to 2048 visible ASCII characters (a Location
// header carries anything else percent-encoded), every "#{" closed by "}" around one of
// kLocationPlaceholders. Else the message to show, saying what to write instead.
std::string location_template_problem(std::string_view text);

}  // namespace ferry::config
