// ferry: argv, signals, and the server's lifetime.
#include <openssl/crypto.h>
#include <unistd.h>
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config/load.h"
#include "config/print.h"
#include "proxy/admin/log.h"
#include "proxy/core/listener_tls.h"
#include "proxy/core/pool_tls.h"
#include "proxy/core/server.h"
#include "proxy/lifecycle/inherited_sockets.h"
#include "proxy/lifecycle/systemd_notify.h"
#include "proxy/lifecycle/upgrade_channel.h"
#include "proxy/lifecycle/upgrader.h"

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
    "  -c, --config FILE   run with the YAML configuration FILE (also --config=FILE)\n"
    "  -t, --check         validate the configuration, print \"config OK\" or every error as\n"
    "                      FILE:LINE:COL: message; exit 0 or 1\n"
    "  --print-config      print the effective configuration (defaults filled in) as YAML\n"
    "  -v, --version       print the version\n"
    "  -h, --help          print this help\n"
    "\n"
    "signals: SIGHUP reloads FILE; SIGUSR2 upgrades with no downtime: starts the binary at\n"
    "ferry's own path with the same arguments, hands it the listening sockets, and once it\n"
    "serves, stops accepting and drains (if it fails, this process keeps serving); SIGUSR1\n"
    "reopens the access log; SIGTERM/SIGINT stop accepting, finish in-flight requests within\n"
    "timeouts.shutdown_grace, then exit 0.\n";

struct Options {
  std::string config_file;
  bool check = false;
  bool print_config = false;
};

// Returns -1 to go on, else the exit code.
int parse_args(int argc, char** argv, Options* options) {
  // An empty name would mean the built-in default, whose backends are on another network:
  // a script whose variable came out empty must not start that.
  const auto take_config = [options](std::string name, const char* option) {
    if (name.empty()) {
      std::fprintf(stderr, "ferry: %s needs a file name, not an empty one\n%s", option, kUsage);
      return 2;
    }
    options->config_file = std::move(name);
    return -1;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ferry: %s needs a file name\n%s", arg.c_str(), kUsage);
        return 2;
      }
      if (const int rc = take_config(argv[++i], arg.c_str()); rc >= 0) return rc;
    } else if (arg.rfind("--config=", 0) == 0) {
      if (const int rc = take_config(arg.substr(9), "--config="); rc >= 0) return rc;
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

namespace lifecycle = ferry::proxy::lifecycle;

struct Runtime;
void reload(Runtime* rt);

struct Runtime {
  ferry::proxy::Server* server = nullptr;
  std::string config_file;  // empty: the built-in default
  std::string executable;   // our own path, for an upgrade
  std::vector<std::string> args;
  uv_signal_t sigterm{}, sigint{}, sighup{}, sigusr1{}, sigusr2{};
  uv_timer_t resolve_timer{};
  uv_async_t done{};
  std::unique_ptr<lifecycle::Upgrader> upgrader;
  bool stopping = false;
  bool handed_over = false;  // an upgrade's new process serves; systemd follows it now
};

void on_stop_signal(uv_signal_t* handle, int signum) {
  auto* rt = static_cast<Runtime*>(handle->data);
  if (!rt->stopping) {
    ferry::proxy::log_info("%s: draining (up to %s)", signum == SIGINT ? "SIGINT" : "SIGTERM",
                           "timeouts.shutdown_grace");
    lifecycle::notify_systemd("STOPPING=1\nSTATUS=draining");
  }
  rt->stopping = true;
  // A new process still starting would otherwise serve beside nobody's knowledge.
  if (rt->upgrader->pending()) rt->upgrader->cancel("ferry is shutting down");
  rt->server->drain();
}

void on_upgrade_done(Runtime* rt, bool ok, int pid, const std::string& why) {
  if (!ok) {
    ferry::proxy::log_error("upgrade failed: %s; this process (pid %d) keeps serving", why.c_str(), ::getpid());
    if (!rt->stopping) lifecycle::notify_systemd("READY=1\nSTATUS=serving; the last upgrade failed: " + why);
    return;
  }
  ferry::proxy::log_info("upgrade: the new process (pid %d) serves; this one (pid %d) stops accepting and drains",
                         pid, ::getpid());
  // The new process is the service's main process from now on; without this systemd would
  // take the service down when this one exits.
  lifecycle::notify_systemd("MAINPID=" + std::to_string(pid) + "\nREADY=1\nSTATUS=upgraded");
  rt->handed_over = true;
  rt->stopping = true;
  rt->server->hand_over();
}

void on_usr2(uv_signal_t* handle, int) {
  auto* rt = static_cast<Runtime*>(handle->data);
  if (rt->stopping) {
    ferry::proxy::log_info("SIGUSR2 ignored: this process is draining");
    return;
  }
  if (rt->upgrader->pending()) {
    ferry::proxy::log_info("SIGUSR2 ignored: an upgrade is already under way");
    return;
  }
  lifecycle::UpgradePlan plan;
  plan.executable = rt->executable;
  plan.args = rt->args;
  plan.sockets = rt->server->handover_sockets();
  plan.handover.ticket_ring = rt->server->export_ticket_ring();
  plan.handover.drained = rt->server->drained_backends();
  ferry::proxy::log_info("SIGUSR2: upgrading: starting %s with %zu listening socket(s)", plan.executable.c_str(),
                         plan.sockets.size());
  lifecycle::notify_systemd("RELOADING=1\nSTATUS=upgrading");
  std::string error;
  const bool started = rt->upgrader->start(
      std::move(plan), [rt](bool ok, int pid, const std::string& why) { on_upgrade_done(rt, ok, pid, why); }, &error);
  if (!started) on_upgrade_done(rt, false, 0, error);
}

void on_hup(uv_signal_t* handle, int) {
  auto* rt = static_cast<Runtime*>(handle->data);
  if (rt->stopping) return;
  lifecycle::notify_systemd("RELOADING=1\nSTATUS=reloading");
  reload(rt);
  lifecycle::notify_systemd("READY=1\nSTATUS=serving");
}

void reload(Runtime* rt) {
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
  uv_close(reinterpret_cast<uv_handle_t*>(&rt->sigusr2), nullptr);
  rt->upgrader->close();
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
  // Listening sockets from systemd or from the ferry this one replaces, and (after an upgrade)
  // the channel to that ferry; both are taken out of the environment here.
  std::string error;
  lifecycle::InheritedSockets inherited = lifecycle::InheritedSockets::from_environment(&error);
  if (!error.empty()) {
    ferry::proxy::log_error("%s", error.c_str());
    return 1;
  }
  std::optional<lifecycle::UpgradeChannel> upgrade_channel = lifecycle::UpgradeChannel::from_environment();
  ferry::proxy::Server server(loaded.config);
  if (upgrade_channel) {
    lifecycle::Handover handover;
    if (!upgrade_channel->receive(&handover, &error)) {
      ferry::proxy::log_error("upgrade: %s", error.c_str());
      return 1;
    }
    server.inherit_ticket_ring(std::move(handover.ticket_ring));
    server.inherit_drained(handover.drained);
  }
  server.inherit(std::move(inherited));
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
  ferry::proxy::log_info("listening on %s with %u workers, %zu backends, admin %s (%s), pid %d",
                         listening.c_str(), server.worker_count(), backend_count(running),
                         running.admin.empty() ? "off" : running.admin.c_str(), running.source.c_str(), ::getpid());
  if (upgrade_channel) {
    // The old process tells systemd (MAINPID=) once it hears this, then drains.
    upgrade_channel->report_ready();
    upgrade_channel.reset();
  } else {
    lifecycle::notify_systemd("READY=1\nSTATUS=serving\nMAINPID=" + std::to_string(::getpid()));
  }

  uv_loop_t loop;
  uv_loop_init(&loop);
  Runtime rt;
  rt.server = &server;
  rt.config_file = options.config_file;
  rt.executable = lifecycle::own_executable_path();
  rt.args.assign(argv, argv + argc);
  rt.upgrader = std::make_unique<lifecycle::Upgrader>(&loop);
  for (uv_signal_t* s : {&rt.sigterm, &rt.sigint, &rt.sighup, &rt.sigusr1, &rt.sigusr2}) {
    uv_signal_init(&loop, s);
    s->data = &rt;
  }
  uv_signal_start(&rt.sigterm, &on_stop_signal, SIGTERM);
  uv_signal_start(&rt.sigint, &on_stop_signal, SIGINT);
  uv_signal_start(&rt.sighup, &on_hup, SIGHUP);
  uv_signal_start(&rt.sigusr1, &on_usr1, SIGUSR1);
  uv_signal_start(&rt.sigusr2, &on_usr2, SIGUSR2);
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
  rt.upgrader.reset();
  uv_loop_close(&loop);
  ferry::proxy::log_info(rt.handed_over ? "stopped (pid %d; handed over)" : "stopped (pid %d)", ::getpid());
  return 0;
}
