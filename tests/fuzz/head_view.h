// A message head as plain strings, read two ways: from ferry's MessageHead (the spans
// HttpParser's split_head cut from the raw head) and from a bare strict llhttp's own callbacks
// (url, status, header field and value), which is where ferry used to take its fields from and
// what decides the framing. The two must agree on every head ferry accepts: the fuzz targets
// check it on every input, tests/proxy/http1/head_split_test.cc on the corpora.
#pragma once

#include <llhttp.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/http1/http_parser.h"

namespace ferry::fuzz {

struct HeadView {
  bool got = false;
  std::string target;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> fields;

  bool operator==(const HeadView&) const = default;

  std::string show() const {
    std::string out = "target [" + target + "] reason [" + reason + "]";
    for (const auto& [n, v] : fields) out += " [" + n + "]=[" + v + "]";
    return out;
  }
};

inline HeadView view_of(const proxy::MessageHead& h) {
  HeadView v;
  v.got = true;
  v.target = std::string(h.view(h.url));
  v.reason = std::string(h.view(h.reason));
  for (const proxy::HeaderField& f : h.fields) v.fields.emplace_back(h.name(f), h.value(f));
  return v;
}

// llhttp's view of the first head in `data`.
inline HeadView llhttp_head_view(bool request, std::string_view data) {
  struct State {
    HeadView view;
    bool in_value = true;
  } st;
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_url = [](llhttp_t* p, const char* at, std::size_t len) {
    static_cast<State*>(p->data)->view.target.append(at, len);
    return 0;
  };
  settings.on_status = [](llhttp_t* p, const char* at, std::size_t len) {
    static_cast<State*>(p->data)->view.reason.append(at, len);
    return 0;
  };
  settings.on_header_field = [](llhttp_t* p, const char* at, std::size_t len) {
    auto* s = static_cast<State*>(p->data);
    if (s->in_value) s->view.fields.emplace_back();
    s->in_value = false;
    s->view.fields.back().first.append(at, len);
    return 0;
  };
  settings.on_header_value = [](llhttp_t* p, const char* at, std::size_t len) {
    auto* s = static_cast<State*>(p->data);
    s->in_value = true;
    s->view.fields.back().second.append(at, len);
    return 0;
  };
  settings.on_header_value_complete = [](llhttp_t* p) {
    static_cast<State*>(p->data)->in_value = true;
    return 0;
  };
  settings.on_headers_complete = [](llhttp_t* p) {
    static_cast<State*>(p->data)->view.got = true;
    return -1;  // the head is all this wants
  };
  llhttp_t parser;
  llhttp_init(&parser, request ? HTTP_REQUEST : HTTP_RESPONSE, &settings);
  parser.data = &st;
  llhttp_execute(&parser, data.data(), data.size());
  return st.view;
}

// ferry's view of the first head in `data` (got is false when ferry refuses it).
inline HeadView ferry_head_view(bool request, std::string_view data) {
  struct FirstHead final : proxy::HttpParser::Sink {
    HeadView view;
    int on_head(proxy::MessageHead& h) override {
      view = view_of(h);
      return 1;  // stop after the head
    }
    int on_body(const char*, std::size_t) override { return 0; }
    int on_message_end() override { return 0; }
  } sink;
  proxy::HttpParser parser(request ? proxy::HttpParser::Kind::Request : proxy::HttpParser::Kind::Response, sink,
                           std::size_t{1} << 20);
  std::size_t used = 0;
  parser.feed(data.data(), data.size(), &used);
  return sink.view;
}

}  // namespace ferry::fuzz
