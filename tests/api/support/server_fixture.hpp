// A real hashguard::api::server on 127.0.0.1 with an ephemeral port, short timeouts, one test
// key per role, and a captured request log. Tests change `options` and `routes` before start().
#pragma once

#include "hashguard/api/auth.hpp"
#include "hashguard/api/metrics.hpp"
#include "hashguard/api/options.hpp"
#include "hashguard/api/router.hpp"
#include "hashguard/api/server.hpp"
#include "hashguard/api/work_pool.hpp"
#include "hashguard/handlers/routes.hpp"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace hg_test {

using namespace std::chrono_literals;

inline constexpr std::string_view ingest_key = "test-ingest-key-0123456789";
inline constexpr std::string_view reviewer_key = "test-reviewer-key-0123456789";
inline constexpr std::string_view compliance_key = "test-compliance-key-0123456789";
inline constexpr std::string_view admin_key = "test-admin-key-0123456789";

inline std::string_view key_for(hashguard::core::role r) {
  switch (r) {
    case hashguard::core::role::ingest: return ingest_key;
    case hashguard::core::role::reviewer: return reviewer_key;
    case hashguard::core::role::compliance: return compliance_key;
    case hashguard::core::role::admin: return admin_key;
    // An exchange key is scoped to named lists, which only a stored key carries: these
    // fixtures have none.
    case hashguard::core::role::exchange: return {};
  }
  return {};
}

/// Options with test-sized timeouts (hundreds of milliseconds).
inline hashguard::api::server_options test_options() {
  hashguard::api::server_options o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.io_threads = 2;
  o.scan_threads = 2;
  o.video_threads = 1;
  o.scan_queue = 64;
  o.db_threads = 2;
  o.db_queue = 64;
  o.read_timeout = 300ms;
  o.request_deadline = 500ms;
  o.write_timeout = 500ms;
  o.idle_timeout = 400ms;
  o.drain_timeout = 2000ms;
  o.body_limit_json = 4096;
  o.body_limit_image = 64 * 1024;
  o.body_limit_import = 256 * 1024;
  o.header_limit = 2048;
  return o;
}

class test_server {
 public:
  hashguard::api::server_options options = test_options();
  hashguard::api::route_table routes;
  hashguard::api::key_registry keys;
  hashguard::api::metrics stats;
  std::unique_ptr<hashguard::api::rate_limiter> limiter;
  std::unique_ptr<hashguard::api::work_pool> scan_pool;
  std::unique_ptr<hashguard::api::work_pool> db_pool;
  std::unique_ptr<hashguard::api::work_pool> video_pool;
  std::unique_ptr<hashguard::api::server> srv;

  test_server() {
    using hashguard::api::digest_key;
    using hashguard::api::key_id_of;
    using hashguard::core::role;
    std::vector<hashguard::api::key_record> records;
    for (role r : {role::ingest, role::reviewer, role::compliance, role::admin}) {
      const auto d = digest_key(key_for(r));
      records.push_back({d, key_id_of(d), r, 0, 0});
    }
    keys.replace(std::move(records));
  }
  ~test_server() { stop(); }

  void start(bool signals = false) {
    limiter = std::make_unique<hashguard::api::rate_limiter>(options.rate_limit_per_s,
                                                             options.rate_limit_burst);
    scan_pool = std::make_unique<hashguard::api::work_pool>("scan", options.scan_threads,
                                                            options.scan_queue);
    db_pool =
        std::make_unique<hashguard::api::work_pool>("db", options.db_threads, options.db_queue);
    video_pool = std::make_unique<hashguard::api::work_pool>("video", options.video_threads,
                                                             options.video_queue);
    hashguard::api::services svc;
    svc.routes = &routes;
    svc.keys = &keys;
    svc.limiter = limiter.get();
    svc.stats = &stats;
    svc.scan_pool = scan_pool.get();
    svc.db_pool = db_pool.get();
    svc.video_pool = video_pool.get();
    svc.log = [this](std::string_view line) {
      std::lock_guard lock(log_mu_);
      log_.emplace_back(line);
    };
    srv = std::make_unique<hashguard::api::server>(options, svc);
    if (signals) srv->handle_signals();
    auto started = srv->start();
    if (!started) throw std::runtime_error("server start: " + started.error().message());
  }
  void stop() {
    if (srv) {
      srv->shutdown();
      srv->wait();
      srv.reset();
    }
  }
  [[nodiscard]] std::uint16_t port() const { return srv->port(); }
  [[nodiscard]] std::vector<std::string> log() const {
    std::lock_guard lock(log_mu_);
    return log_;
  }

 private:
  mutable std::mutex log_mu_;
  std::vector<std::string> log_;
};

}  // namespace hg_test
