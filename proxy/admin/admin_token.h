// The admin bearer token check: "Authorization: Bearer TOKEN" against admin_token.
#pragma once

#include <string_view>

namespace ferry::proxy {

// True when `authorization` is "Bearer " (scheme case-insensitive) followed by exactly `token`.
// Both are hashed and the digests compared with CRYPTO_memcmp, so the time taken says nothing
// about how much of a guess was right, nor how long the token is.
bool bearer_token_matches(std::string_view authorization, std::string_view token);

}  // namespace ferry::proxy
