#include "proxy/http2/response_fields.h"

#include <cstdio>

namespace ferry::proxy::http2 {

namespace {

struct Piece {
  std::size_t name_at, name_len, value_at, value_len;
};

uint8_t* at(std::string& arena, std::size_t offset) {
  return reinterpret_cast<uint8_t*>(arena.data() + offset);
}

}  // namespace

bool hop_by_hop_response_field(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade";
}

void ResponseFields::build(const MessageHead& head) {
  arena.clear();
  nva.clear();
  std::vector<Piece> pieces;
  pieces.reserve(head.fields.size() + 1);
  char status[8];
  const int n = std::snprintf(status, sizeof status, "%03u", static_cast<unsigned>(head.status % 1000));
  pieces.push_back({arena.size(), 7, arena.size() + 7, static_cast<std::size_t>(n)});
  arena.append(":status");
  arena.append(status, static_cast<std::size_t>(n));
  for (const HeaderField& f : head.fields) {
    const std::string_view name = head.name(f);
    const std::size_t name_at = arena.size();
    for (const char ch : name) arena.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
    if (hop_by_hop_response_field(std::string_view(arena).substr(name_at))) {
      arena.resize(name_at);
      continue;
    }
    const std::string_view value = head.value(f);
    pieces.push_back({name_at, name.size(), arena.size(), value.size()});
    arena.append(value);
  }
  // Pointers only once the arena has stopped growing.
  for (const Piece& p : pieces) {
    nva.push_back(nghttp2_nv{at(arena, p.name_at), at(arena, p.value_at), p.name_len, p.value_len,
                             NGHTTP2_NV_FLAG_NONE});
  }
}

void ResponseFields::build_lines(std::string_view lines) {
  arena.clear();
  nva.clear();
  std::vector<Piece> pieces;
  while (!lines.empty()) {
    const std::size_t eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol == std::string_view::npos ? lines.size() : eol + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    const std::size_t name_at = arena.size();
    for (const char ch : line.substr(0, colon))
      arena.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
    if (hop_by_hop_response_field(std::string_view(arena).substr(name_at))) {
      arena.resize(name_at);
      continue;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    pieces.push_back({name_at, colon, arena.size(), value.size()});
    arena.append(value);
  }
  for (const Piece& p : pieces) {
    nva.push_back(nghttp2_nv{at(arena, p.name_at), at(arena, p.value_at), p.name_len, p.value_len,
                             NGHTTP2_NV_FLAG_NONE});
  }
}

}  // namespace ferry::proxy::http2
