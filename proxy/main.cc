// ferry: argv, signals, and the server's lifetime.
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "config/load.h"
#include "config/print.h"
#include "proxy/log.h"
#include "proxy/server.h"

namespace {

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

struct Runtime {
  ferry::proxy::Server* server = nullptr;
  uv_signal_t sigterm{}, sigint{}, sighup{};
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
  (void)rt;
  ferry::proxy::log_info("SIGHUP: reload");
}

void on_done(uv_async_t* handle) {
  auto* rt = static_cast<Runtime*>(handle->data);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt->sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt->sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&rt->sighup), nullptr);
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
    std::printf("config OK\n");
    return 0;
  }
  if (options.print_config) {
    std::fputs(ferry::config::print(loaded.config).c_str(), stdout);
    return 0;
  }

  std::signal(SIGPIPE, SIG_IGN);
  ferry::proxy::Server server(loaded.config);
  std::string error;
  if (!server.start(&error)) {
    ferry::proxy::log_error("%s", error.c_str());
    return 1;
  }
  std::string listening;
  for (std::size_t i = 0; i < server.listen_ports().size(); ++i) {
    if (i > 0) listening += ", ";
    listening += server.config().listen[i];
  }
  ferry::proxy::log_info("listening on %s with %u workers, %zu backends (%s)", listening.c_str(),
                         server.worker_count(), server.config().backends.size(),
                         server.config().source.c_str());

  uv_loop_t loop;
  uv_loop_init(&loop);
  Runtime rt;
  rt.server = &server;
  for (uv_signal_t* s : {&rt.sigterm, &rt.sigint, &rt.sighup}) {
    uv_signal_init(&loop, s);
    s->data = &rt;
  }
  uv_signal_start(&rt.sigterm, &on_stop_signal, SIGTERM);
  uv_signal_start(&rt.sigint, &on_stop_signal, SIGINT);
  uv_signal_start(&rt.sighup, &on_hup, SIGHUP);
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
