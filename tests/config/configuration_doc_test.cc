// docs/configuration.md must document every key ferry accepts. The keys come from the same code
// path as `ferry --print-config` (config::print), run on the built-in default and on a file that
// sets every key, so keys printed only when set (the health_check section) are covered too.
//
// The convention the doc keeps: under its "## YAML schema" heading, every key has a table row
// whose first cell is the key's full path in backticks:
//
//   | `health_check.interval` | duration ... |
//   | `backends[].weight` | integer ... |
//
// Nested keys are joined with '.', a list's entries with "[]", and the names a file chooses as
// keys (pools) with "NAME":
//
//   | `pools.NAME.slow_start` | duration ... |
#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/load.h"
#include "config/print.h"

#ifndef FERRY_SOURCE_DIR
#error "FERRY_SOURCE_DIR (the repository root) must be defined for this test: tests/CMakeLists.txt sets it for every test target"
#endif

namespace ferry::config {
namespace {

using KeySet = std::set<std::string>;

constexpr std::string_view kDoc = "docs/configuration.md";
constexpr std::string_view kSchemaHeading = "## YAML schema";
// The doc's complete example follows this marker (an HTML comment, invisible when rendered).
constexpr std::string_view kLoadMarker = "<!-- configuration_doc_test: must load -->";
// Far fewer keys than ferry has means the extraction broke, not that the doc is complete.
constexpr std::size_t kMinKeys = 30;

// Every key ferry accepts, each set (mostly away from its default). When ferry learns a key,
// add it here: FileSettingEveryKeyIsComplete fails until then.
constexpr std::string_view kEveryKey = R"(listen:
  - "127.0.0.1:0"
  - "[::1]:0"
workers: 2
admin: "off"
admin_token: "0123456789abcdef0123456789abcdef"
balancer: consistent_hash
hash_key: "header:X-User"
resolve_interval: 0
backends:
  - address: "10.0.0.1:8000"
    weight: 5
  - "backend.internal:9000"
health_check:
  path: /ready
  interval: 3s
  timeout: 1s
  healthy_threshold: 3
  unhealthy_threshold: 4
  expected_status: "200,204"
  host: app.internal
  fail_open: true
timeouts:
  connect: 1s
  client_header: 5s
  client_idle: 30s
  backend_response: 20s
  backend_idle: 2s
  shutdown_grace: 5s
limits:
  max_connections: 100
  max_header_bytes: 16KiB
  max_body_bytes: 1MiB
  per_client:
    rate: 10
    burst: 20
  http2_max_concurrent_streams: 100
buffers:
  request: 16KiB
  response: 128KiB
retries: 3
access_log: stdout
)";

// The same for a file that gives `listeners` (which excludes `listen`): a TLS listener with every
// TLS key, and a plain one.
constexpr std::string_view kEveryListenerKey = R"(listeners:
  - address: "127.0.0.1:0"
    protocols: [http/1.1]
    tls:
      certificates:
        - cert: /etc/ferry/tls/site.pem
          key: /etc/ferry/tls/site.key
      policy: modern
      session_tickets: false
      client_ca: /etc/ferry/tls/clients.pem
    hsts: 2h
  - address: "127.0.0.1:1"
    protocols: [http/1.1]
    tls: "off"
    hsts: 0s
backends: ["10.0.0.1:8000"]
acme:
  directory: "https://acme.example.net/directory"
  email: ops@example.com
  domains: [example.com, www.example.com]
  storage: /srv/ferry/acme
  ca_bundle: /etc/ferry/acme-ca.pem
)";

// The same for pools and routes: every key of a pool (health_check included), both forms of
// forward, and each kind of action.
constexpr std::string_view kEveryPoolKey = R"(listeners:
  - address: "127.0.0.1:0"
  - address: "127.0.0.1:1"
backends: ["10.0.0.1:8000"]
pools:
  web:
    backends:
      - address: "10.0.0.2:8000"
        weight: 3
    balancer: consistent_hash
    hash_key: "cookie:session"
    health_check:
      path: /ready
      interval: 3s
      timeout: 1s
      healthy_threshold: 3
      unhealthy_threshold: 4
      expected_status: "200,204"
      host: app.internal
      fail_open: true
    retries: 2
    slow_start: 30s
    drain: 1m
    stickiness:
      cookie: srv
      duration: 2h
    tls:
      verify: true
      ca: /etc/ferry/tls/backends.pem
      server_name: app.internal
    protocol: http/1.1
routes:
  - name: api
    match:
      host: [api.example.com]
      path: ["/api/*"]
      method: [GET, POST]
      header: {X-Canary: "1"}
      query: {version: "2"}
      source: ["10.0.0.0/8"]
      listener: ["127.0.0.1:0"]
    forward:
      weights: {web: 90, default: 10}
    strip_prefix: /api
  - name: moved
    redirect:
      location: "https://#{host}/#{path}?#{query}"
      status: 308
  - name: down
    respond:
      status: 503
      content_type: text/plain
      body: "back soon"
    rate_limit:
      rate: 5
      burst: 10
  - name: rest
    forward: default
    strip_prefix: ""
)";

// Maps whose keys are names the file chooses; their keys appear in paths as "NAME".
bool is_named_map(std::string_view path) { return path == "pools"; }

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_key_name(std::string_view s) {
  return !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos;
}

// The key paths of block-style YAML as config::print writes it: "timeouts.connect",
// "backends[].weight". List items may be indented under their key or not. Items that are plain
// values ("- "10.0.0.1:80"") add no key of their own. Flow style ({a: 1}) is not read.
KeySet key_paths(std::string_view yaml) {
  struct Parent {
    std::size_t column;  // where its key (or its "- ") starts; deeper lines belong to it
    std::string path;    // a list item's is "<list>[]"
  };
  std::vector<Parent> parents;
  KeySet keys;
  for (std::string_view line : lines_of(yaml)) {
    const std::size_t column = line.find_first_not_of(' ');
    if (column == std::string_view::npos || line[column] == '#') continue;
    std::string_view rest = line.substr(column);
    std::size_t key_column = column;
    if (rest == "-" || rest.starts_with("- ")) {
      // A list item: what it holds belongs to "<list>[]". The list's key may sit in the same
      // column as its items ("backends:" then "- a"); an earlier item there is a sibling.
      while (!parents.empty() && parents.back().column > column) parents.pop_back();
      if (!parents.empty() && parents.back().column == column && parents.back().path.ends_with("[]"))
        parents.pop_back();
      parents.push_back(Parent{column, (parents.empty() ? std::string() : parents.back().path) + "[]"});
      rest.remove_prefix(rest.size() == 1 ? 1 : 2);
      key_column = column + 2;
    } else {
      while (!parents.empty() && parents.back().column >= column) parents.pop_back();
    }
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = rest.substr(0, colon);
    // "key:" or "key: value"; anything else (a quoted address, "a:b") is a value. A named map's
    // keys may be anything, quoted or not.
    const bool named = !parents.empty() && is_named_map(parents.back().path);
    if ((!named && !is_key_name(key)) || (colon + 1 < rest.size() && rest[colon + 1] != ' ')) continue;
    const std::string_view shown = named ? std::string_view("NAME") : key;
    std::string path = parents.empty() ? std::string(shown) : parents.back().path + "." + std::string(shown);
    keys.insert(path);
    parents.push_back(Parent{key_column, std::move(path)});
  }
  return keys;
}

// The first cell of a markdown table row when it is one `code span`, else "".
std::string_view first_cell_code(std::string_view line) {
  line = trim(line);
  if (!line.starts_with('|')) return {};
  line.remove_prefix(1);
  const std::size_t bar = line.find('|');
  if (bar == std::string_view::npos) return {};
  const std::string_view cell = trim(line.substr(0, bar));
  if (cell.size() < 3 || cell.front() != '`' || cell.back() != '`') return {};
  const std::string_view inner = cell.substr(1, cell.size() - 2);
  return inner.find('`') == std::string_view::npos ? inner : std::string_view();
}

// Keys with a row in the tables under "## YAML schema" (to the next "## " heading), outside
// code blocks. Sets *found_section to whether the heading is there at all.
KeySet schema_rows(std::string_view markdown, bool* found_section) {
  KeySet rows;
  bool in_schema = false;
  bool in_code = false;
  *found_section = false;
  for (std::string_view line : lines_of(markdown)) {
    if (trim(line).starts_with("```")) {
      in_code = !in_code;
      continue;
    }
    if (in_code) continue;
    if (line.starts_with("## ")) {
      in_schema = trim(line) == kSchemaHeading;
      *found_section = *found_section || in_schema;
      continue;
    }
    if (!in_schema) continue;
    if (const std::string_view key = first_cell_code(line); !key.empty()) rows.emplace(key);
  }
  return rows;
}

// The keys of `keys` that have no row in `markdown`'s schema tables.
std::vector<std::string> undocumented(const KeySet& keys, std::string_view markdown) {
  bool found_section = false;
  const KeySet rows = schema_rows(markdown, &found_section);
  std::vector<std::string> missing;
  for (const std::string& key : keys)
    if (rows.count(key) == 0) missing.push_back(key);
  return missing;
}

// `markdown` without the table rows whose first cell is `key`; *removed counts them.
std::string without_row(std::string_view markdown, std::string_view key, int* removed) {
  std::string out;
  *removed = 0;
  for (std::string_view line : lines_of(markdown)) {
    if (first_cell_code(line) == key) {
      ++*removed;
      continue;
    }
    out.append(line);
    out += '\n';
  }
  return out;
}

std::string doc_path() { return std::string(FERRY_SOURCE_DIR) + "/" + std::string(kDoc); }

std::string read_doc() {
  std::ifstream in(doc_path(), std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Config load_every_key(std::string_view yaml = kEveryKey) {
  const LoadResult r = load_text(yaml, "every-key.yaml");
  for (const LoadError& e : r.errors) ADD_FAILURE() << e.to_string();
  return r.config;
}

// Every key --print-config prints: the built-in default's, and those of files setting every key.
KeySet printed_keys() {
  KeySet keys = key_paths(print(seed_default()));
  keys.merge(key_paths(print(load_every_key())));
  keys.merge(key_paths(print(load_every_key(kEveryListenerKey))));
  keys.merge(key_paths(print(load_every_key(kEveryPoolKey))));
  return keys;
}

std::string joined(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

TEST(ConfigurationDoc, KeyPathsFollowNestingAndLists) {
  const KeySet keys = key_paths(
      "# a comment\n"
      "top: 1\n"
      "section:\n"
      "  inner: \"a:b\"\n"
      "items:\n"
      "  - \"10.0.0.1:80\"\n"
      "  - address: \"10.0.0.2:80\"\n"
      "    weight: 2\n"
      "last: x\n");
  EXPECT_EQ(keys, (KeySet{"top", "section", "section.inner", "items", "items[].address",
                          "items[].weight", "last"}));
  // Items in the same column as their list's key.
  EXPECT_EQ(key_paths("items:\n- address: a\n  weight: 1\n- b\n- address: c\nafter: 1\n"),
            (KeySet{"items", "items[].address", "items[].weight", "after"}));
  // A pool's name, quoted or not, is "NAME".
  EXPECT_EQ(key_paths("pools:\n  web:\n    drain: 1s\n  \"api-2\":\n    tls:\n      verify: true\n"),
            (KeySet{"pools", "pools.NAME", "pools.NAME.drain", "pools.NAME.tls", "pools.NAME.tls.verify"}));
}

TEST(ConfigurationDoc, PrintedKeysIncludeNestedAndListKeys) {
  const KeySet keys = printed_keys();
  ASSERT_GE(keys.size(), kMinKeys) << "only " << keys.size() << " keys extracted from --print-config";
  for (const char* key : {"listen", "backends[].address", "backends[].weight", "health_check.interval",
                          "health_check.fail_open", "timeouts.connect", "limits.max_body_bytes",
                          "buffers.response", "access_log", "pools.NAME.backends[].weight",
                          "pools.NAME.stickiness.cookie", "routes[].match.header", "routes[].forward.weights",
                          "routes[].respond.body"}) {
    EXPECT_EQ(keys.count(key), 1U) << key;
  }
}

// kEveryKey must set every key print() writes for it. A new key that print() always writes shows
// up here until it is added there; one written only when set (as health_check's are) has to be
// added by hand, which is what kEveryKey is for.
TEST(ConfigurationDoc, FileSettingEveryKeyIsComplete) {
  // kEveryKey sets every key but `listeners`', pools' and routes' own: the three files together
  // are all of them.
  KeySet given = key_paths(kEveryKey);
  given.merge(key_paths(kEveryListenerKey));
  given.merge(key_paths(kEveryPoolKey));
  KeySet printed = key_paths(print(load_every_key()));
  printed.merge(key_paths(print(load_every_key(kEveryListenerKey))));
  printed.merge(key_paths(print(load_every_key(kEveryPoolKey))));
  for (const std::string& key : printed)
    EXPECT_EQ(given.count(key), 1U) << "no file in " << __FILE__ << " sets `" << key << "`";
  EXPECT_EQ(given, printed);
}

TEST(ConfigurationDoc, EveryPrintedKeyHasARow) {
  const std::string doc = read_doc();
  ASSERT_FALSE(doc.empty()) << "cannot read " << kDoc << " at " << doc_path();
  const KeySet keys = printed_keys();
  ASSERT_GE(keys.size(), kMinKeys) << "only " << keys.size() << " keys extracted from --print-config";
  bool found_section = false;
  schema_rows(doc, &found_section);
  ASSERT_TRUE(found_section) << kDoc << " has no \"" << kSchemaHeading << "\" section";
  for (const std::string& key : undocumented(keys, doc)) {
    ADD_FAILURE() << "`" << key << "` is printed by ferry --print-config but " << kDoc
                  << " has no row for it: add a table row under \"" << kSchemaHeading
                  << "\" whose first cell is `" << key << "`";
  }
}

// The other way round: a row for a key ferry does not accept would document a mistake.
TEST(ConfigurationDoc, SchemaRowsAreKeysFerryPrints) {
  const std::string doc = read_doc();
  ASSERT_FALSE(doc.empty()) << "cannot read " << kDoc << " at " << doc_path();
  const KeySet keys = printed_keys();
  bool found_section = false;
  for (const std::string& row : schema_rows(doc, &found_section)) {
    EXPECT_EQ(keys.count(row), 1U) << kDoc << " has a row for `" << row
                                   << "` under \"" << kSchemaHeading
                                   << "\", but ferry --print-config prints no such key";
  }
}

// The check can fail: with any one key's row taken out, exactly that key is reported.
TEST(ConfigurationDoc, AKeyWithoutItsRowIsReported) {
  const std::string doc = read_doc();
  ASSERT_FALSE(doc.empty()) << "cannot read " << kDoc << " at " << doc_path();
  const KeySet keys = printed_keys();
  ASSERT_GE(keys.size(), kMinKeys);
  ASSERT_TRUE(undocumented(keys, doc).empty()) << joined(undocumented(keys, doc));
  for (const std::string& key : keys) {
    int removed = 0;
    const std::string altered = without_row(doc, key, &removed);
    ASSERT_GE(removed, 1) << "no row for `" << key << "` to take out";
    EXPECT_EQ(undocumented(keys, altered), std::vector<std::string>{key})
        << "with the row for `" << key << "` removed";
  }
  // And a doc without the section reports every key.
  EXPECT_EQ(undocumented(keys, "# nothing here\n").size(), keys.size());
}

// The doc's complete examples (one with `listen`, one with `listeners`: a file has one or the
// other) are files ferry accepts, and together they show every key.
TEST(ConfigurationDoc, CompleteExamplesLoadAndShowEveryKey) {
  const std::string doc = read_doc();
  ASSERT_FALSE(doc.empty()) << "cannot read " << kDoc << " at " << doc_path();
  std::vector<std::string> examples;
  bool marked = false;
  bool inside = false;
  for (std::string_view line : lines_of(doc)) {
    if (!marked) {
      marked = trim(line) == kLoadMarker;
      continue;
    }
    if (!inside) {
      if (trim(line).starts_with("```yaml")) {
        inside = true;
        examples.emplace_back();
      }
      continue;
    }
    if (trim(line).starts_with("```")) {
      marked = inside = false;
      continue;
    }
    examples.back().append(line);
    examples.back() += '\n';
  }
  ASSERT_FALSE(examples.empty()) << "no ```yaml block after " << kLoadMarker << " in " << kDoc;
  KeySet shown;
  for (const std::string& example : examples) {
    const LoadResult r = load_text(example, std::string(kDoc) + " (complete example)");
    for (const LoadError& e : r.errors) ADD_FAILURE() << e.to_string();
    shown.merge(key_paths(example));
  }
  for (const std::string& key : printed_keys())
    EXPECT_EQ(shown.count(key), 1U) << "no complete example in " << kDoc << " shows `" << key << "`";
}

}  // namespace
}  // namespace ferry::config
