// ferry: argv, signals, and the server's lifetime.
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <string>
#include <thread>

#include "config/load.h"
#include "config/print.h"
#include "proxy/admin/log.h"
#include "proxy/core/listener_tls.h"
#include "proxy/core/pool_tls.h"
#include "proxy/core/server.h"

namespace {

// Every pool's backends (as written; a name resolving to several addresses counts once).
std::size_t backend_count(const ferry::config::Config& config) {
  std::size_t n = 0;
  for (const ferry::config::PoolConfig& pool : ferry::config::pools_of(config)) n += pool.backends.size();
  return n;
}


constexpr const char* kUsage =
    "usage: ferry [-c FILE] [--check] [--print-config] [--version] [--help]\n"
    "\n"
    "  (no options)        run with the built-in default: listen on 0.0.0.0:8888, round-robin\n"
    "                      over 10.20.10.31:8000 and 10.20.20.32:8000, GET /health checks,\n"
    "                      admin on 127.0.0.1:9901\n"
    "  -c, --config FILE   run with the YAML configuration FILE\n"
    "  --check             validate the configuration, print \"config OK\" or every error as\n"
    "                      FILE:LINE:COL: message; exit 0 or 1\n"
    "  --print-config      print the effective configuration (defaults filled in) as YAML\n"
    "  --version           print the version\n"
    "  --help              print this help\n"
    "\n"
    "signals: SIGHUP reloads FILE; SIGTERM/SIGINT stop accepting, finish in-flight requests\n"
    "within timeouts.shutdown_grace, then exit 0.\n";

struct Options {
  std::string config_file;
  bool check = false;
  bool print_config = false;
};

// Returns -1 to go on, else the exit code.
int parse_args(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ferry: %s needs a file name\n%s", arg.c_str(), kUsage);
        return 2;
      }
      options->config_file = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      options->config_file = arg.substr(9);
    } else if (arg == "--check" || arg == "-t") {
      options->check = true;
    } else if (arg == "--print-config") {
      options->print_config = true;
    } else if (arg == "--version" || arg == "-v") {
      std::printf("ferry %s\n", FERRY_VERSION);
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "ferry: unknown option '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  return -1;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Runtime {
  ferry::proxy::Server* server = nullptr;
  std::string config_file;  // empty: the built-in default
  uv_signal_t sigterm{}, sigint{}, sighup{}, sigusr1{};
  uv_timer_t resolve_timer{};
  uv_async_t done{};
  bool stopping = false;
};

void on_stop_signal(uv_signal_t* handle, int signum) {
  auto* rt = static_cast<Runtime*>(handle->data);
  if (!rt->stopping) {
    ferry::proxy::log_info("%s: draining (up to %s)", signum == SIGINT ? "SIGINT" : "SIGTERM",
                           "timeouts.shutdown_grace");
  }
  rt->stopping = true;
  rt->server->drain();
}

void on_hup(uv_signal_t* handle, int) {
  auto* rt = static_cast<Runtime*>(handle->data);
  if (rt->stopping) return;
  ferry::config::LoadResult next;
  if (rt->config_file.empty()) {
    next.config = ferry::config::seed_default();
  } else {
    next = ferry::config::load_file(rt->config_file);
  }
  if (!next.ok()) {
    for (const auto& e : next.errors) ferry::proxy::log_error("reload: %s", e.to_string().c_str());
    ferry::proxy::log_error("reload rejected: %zu error(s); the previous configuration keeps serving",
                            next.errors.size());
    rt->server->count_failed_reload();
    return;
  }
  std::string error;
  if (!rt->server->reload(next.config, &error)) {
    ferry::proxy::log_error("reload rejected: %s; the previous configuration keeps serving", error.c_str());
    return;
  }
  for (const auto& w : next.warnings) ferry::proxy::log_info("reload: warning: %s", w.to_string().c_str());
  ferry::proxy::log_info("reloaded %s: %zu pools, %zu backends, %zu routes", next.config.source.c_str(),
                         ferry::config::pools_of(next.config).size(), backend_count(next.config),
                         next.config.routes.size());
}

void on_usr1(uv_signal_t* handle, int) {
  auto* rt = static_cast<Runtime*>(handle->data);
  rt->server->reopen_access_log();
}

void on_resolve(uv_timer_t* handle) {
  auto* rt = static_cast<Runtime*>(handle->data);
  std::string error;
  if (!rt->server->resolve_now(&error)) {
    ferry::proxy::log_error("re-resolving backends failed, keeping the last addresses: %s", error.c_str());
  }
  const auto interval = rt->server->config().resolve_interval.count();
  if (interval > 0) uv_timer_start(&rt->resolve_timer, &on_resolve, static_cast<uint64_t>(interval), 0);
}

void on_done(uv_async_t* handle) {
  auto* rt = static_cast<Runtime*>(handle->data);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt->sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt->sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt->sighup), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt->sigusr1), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt->resolve_timer), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt->done), nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const int rc = parse_args(argc, argv, &options); rc >= 0) return rc;

  ferry::config::LoadResult loaded;
  if (options.config_file.empty()) {
    loaded.config = ferry::config::seed_default();
  } else {
    loaded = ferry::config::load_file(options.config_file);
  }
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 1;
  }
  if (options.check) {
    for (const auto& w : loaded.warnings) std::fprintf(stderr, "warning: %s\n", w.to_string().c_str());
    // Certificates too: a file that does not load would fail the start (or the reload).
    const ferry::proxy::ListenerTls tls = ferry::proxy::build_listener_tls(loaded.config, nullptr, unix_now());
    for (const std::string& w : tls.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    if (!tls.ok()) {
      for (const std::string& e : tls.errors) std::fprintf(stderr, "%s\n", e.c_str());
      return 1;
    }
    // And the CA files pools verify their backends with.
    const ferry::proxy::PoolTlsContexts pool_tls = ferry::proxy::build_pool_tls(loaded.config, nullptr);
    if (!pool_tls.ok()) {
      for (const std::string& e : pool_tls.errors) std::fprintf(stderr, "%s\n", e.c_str());
      return 1;
    }
    std::printf("config OK\n");
    return 0;
  }
  if (options.print_config) {
    std::fputs(ferry::config::print(loaded.config).c_str(), stdout);
    return 0;
  }

  std::signal(SIGPIPE, SIG_IGN);
  for (const auto& w : loaded.warnings) ferry::proxy::log_info("warning: %s", w.to_string().c_str());
  ferry::proxy::Server server(loaded.config);
  std::string error;
  if (!server.start(&error)) {
    ferry::proxy::log_error("%s", error.c_str());
    return 1;
  }
  std::string listening;
  const ferry::config::Config running = server.config();
  for (std::size_t i = 0; i < running.listen.size(); ++i) {
    if (i > 0) listening += ", ";
    listening += running.listen[i];
  }
  ferry::proxy::log_info("listening on %s with %u workers, %zu backends, admin %s (%s)",
                         listening.c_str(), server.worker_count(), backend_count(running),
                         running.admin.empty() ? "off" : running.admin.c_str(), running.source.c_str());

  uv_loop_t loop;
  uv_loop_init(&loop);
  Runtime rt;
  rt.server = &server;
  rt.config_file = options.config_file;
  for (uv_signal_t* s : {&rt.sigterm, &rt.sigint, &rt.sighup, &rt.sigusr1}) {
    uv_signal_init(&loop, s);
    s->data = &rt;
  }
  uv_signal_start(&rt.sigterm, &on_stop_signal, SIGTERM);
  uv_signal_start(&rt.sigint, &on_stop_signal, SIGINT);
  uv_signal_start(&rt.sighup, &on_hup, SIGHUP);
  uv_signal_start(&rt.sigusr1, &on_usr1, SIGUSR1);
  uv_timer_init(&loop, &rt.resolve_timer);
  rt.resolve_timer.data = &rt;
  // Names in backends are resolved again every resolve_interval (0 = once, at load).
  if (const auto interval = server.config().resolve_interval.count(); interval > 0) {
    uv_timer_start(&rt.resolve_timer, &on_resolve, static_cast<uint64_t>(interval), 0);
  }
  uv_async_init(&loop, &rt.done, &on_done);
  rt.done.data = &rt;
  std::thread waiter([&] {
    server.wait();
    uv_async_send(&rt.done);
  });
  uv_run(&loop, UV_RUN_DEFAULT);
  waiter.join();
  uv_loop_close(&loop);
  ferry::proxy::log_info("stopped");
  return 0;
}
