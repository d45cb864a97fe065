// The address-valued keys: listen, admin and backends.
#include "config/address.h"
#include "config/decode.h"
#include "config/fields.h"
#include "config/quote.h"
#include "config/validate.h"

namespace ferry::config {

namespace {

constexpr uint64_t kMaxWeight = 1000;  // the contract's 1..1000

// Parses the address at `field` (allowing port 0 when `bind`), reporting a bad or repeated
// one. Returns the text as written.
std::optional<std::string> read_address(const Field& field, bool bind, SeenAddresses* seen,
                                        Diagnostics& diag) {
  const std::optional<std::string> text = read_scalar(field, "an address (host:port)", diag);
  if (!text) return std::nullopt;
  std::string problem;
  const std::optional<HostPort> hp =
      bind ? parse_bind_address(*text, &problem) : parse_host_port(*text, &problem);
  if (!hp) {
    diag.expected_sentence(field, problem);
    return std::nullopt;
  }
  if (seen != nullptr) {
    const auto [first, inserted] = seen->emplace(to_string(*hp), field.mark());
    if (!inserted) {
      diag.error(field.mark(), field.path,
                 "duplicate address " + quote(*text) + ", first listed at line " +
                     std::to_string(first->second.line + 1));
      return std::nullopt;
    }
  }
  return text;
}

// A backend written as a map, while its keys are read.
struct BackendDraft {
  BackendConfig backend;
  bool has_address = false;
  SeenAddresses* seen = nullptr;
};

constexpr std::array<Rule<BackendDraft>, 2> kBackendRules{{
    {"address",
     [](const Field& f, BackendDraft& out, Diagnostics& d) {
       out.has_address = true;  // present, even if bad: that error is reported already
       assign(out.backend.address, read_address(f, false, out.seen, d));
     }},
    {"weight", [](const Field& f, BackendDraft& out,
                  Diagnostics& d) { assign(out.backend.weight, read_integer(f, 1, kMaxWeight, d)); }},
}};

}  // namespace

std::optional<std::string> read_bind_address(const Field& field, SeenAddresses* seen,
                                             Diagnostics& diag) {
  return read_address(field, true, seen, diag);
}

void decode_listen(const Field& field, Config& out, Diagnostics& diag) {
  std::vector<Field> items;
  if (field.value.IsScalar()) {
    items.push_back(field);
  } else if (field.value.IsSequence() && field.value.size() > 0) {
    std::size_t index = 0;
    for (const YAML::Node& item : field.value) items.push_back(field.item(index++, item));
  } else {
    diag.expected(field, "an address (host:port) or a list of at least one");
    return;
  }
  SeenAddresses seen;
  std::vector<std::string> listen;
  for (const Field& item : items)
    if (std::optional<std::string> address = read_address(item, true, &seen, diag))
      listen.push_back(*address);
  out.listen = std::move(listen);
}

void decode_admin(const Field& field, Config& out, Diagnostics& diag) {
  const std::optional<std::string> text = read_scalar(field, "an address (host:port) or \"off\"", diag);
  if (!text) return;
  if (*text == "off" || text->empty()) {
    out.admin.clear();
    return;
  }
  assign(out.admin, read_address(field, true, nullptr, diag));
}

void check_admin_exposure(const Field& file, const Config& config, Diagnostics& diag) {
  if (config.admin.empty() || !config.admin_token.empty()) return;
  const std::optional<Field> admin = find_child(file, "admin");
  if (!admin) return;  // the default, 127.0.0.1:9901
  std::string why;
  const std::optional<HostPort> hp = parse_host_port(config.admin, &why);
  if (!hp || is_loopback_host(hp->host)) return;
  diag.error(admin->mark(), admin->path, "admin listens on " + config.admin +
                                              ", beyond loopback, so its POST controls (drain, ready) need "
                                              "a token: set admin_token (for example to the output of: "
                                              "openssl rand -hex 32), or listen on 127.0.0.1");
}

void decode_backends(const Field& field, std::vector<BackendConfig>& out, Diagnostics& diag) {
  if (!field.value.IsSequence() || field.value.size() == 0) {
    diag.expected(field, "a list of at least one backend");
    return;
  }
  SeenAddresses seen;
  std::vector<BackendConfig> backends;
  std::size_t index = 0;
  for (const YAML::Node& node : field.value) {
    const Field item = field.item(index++, node);
    if (node.IsScalar()) {
      if (std::optional<std::string> address = read_address(item, false, &seen, diag))
        backends.push_back(BackendConfig{*address, 1});
    } else if (node.IsMap()) {
      BackendDraft draft;
      draft.seen = &seen;
      decode_map(item, kBackendRules, draft, diag);
      if (!draft.has_address)
        diag.error(item.mark(), item.path, "missing key \"address\" (the backend's host:port)");
      else if (!draft.backend.address.empty())
        backends.push_back(draft.backend);
    } else {
      diag.expected(item, "\"host:port\" or a map {address, weight}");
    }
  }
  out = std::move(backends);
}

}  // namespace ferry::config
