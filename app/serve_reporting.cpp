#include "serve_reporting.hpp"

#include "serve_tasks.hpp"

#include "hashguard/core/periodic_task.hpp"
#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/report_jobs.hpp"
#include "hashguard/outbound/http_client.hpp"
#include "hashguard/reporting/case_content.hpp"
#include "hashguard/reporting/ispws_client.hpp"
#include "hashguard/reporting/job_runner.hpp"

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <iostream>
#include <mutex>
#include <utility>
#include <vector>

namespace hashguard::app {

struct serve_reporting::state {
  reporting::reporting_settings settings;
  hashdb::package_options package;
  std::optional<hashdb::evidence_key> evidence;
  std::string database_url;
  std::shared_ptr<const hashdb::audit_keyring> audit_keys;
  std::string owner;

  // The task's own (its thread only): connection, store, client, runner.
  outbound::http_client runner_http;
  std::optional<hashdb::connection> conn;
  std::optional<hashdb::report_job_store> jobs;
  std::optional<reporting::ispws_client> client;
  std::optional<reporting::job_runner> runner;
  std::unique_ptr<core::periodic_task> task;

  // check(): its own client, one call at a time.
  std::mutex check_mutex;
  outbound::http_client check_http;

  mutable std::mutex metrics_mutex;
  std::vector<std::pair<std::string, std::int64_t>> counts;  // under metrics_mutex
  std::atomic<std::uint64_t> step_failures{0};
  std::atomic<int> status_ok{0};
};

namespace {

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

core::result<void> run_jobs(serve_reporting::state& s) {
  if (!s.conn) {
    auto c = hashdb::connection::open(s.database_url);
    if (!c) return c.error();
    s.conn.emplace(std::move(*c));
    s.conn->use_audit_keys(s.audit_keys);
    s.jobs.emplace(*s.conn);
    reporting::case_content_options co;
    co.package = s.package;
    co.evidence = s.evidence;
    reporting::runner_options ro;
    ro.owner = s.owner;
    ro.lease = std::chrono::duration_cast<std::chrono::milliseconds>(s.settings.lease);
    ro.max_attempts = s.settings.max_attempts;
    ro.retry_delay = std::chrono::duration_cast<std::chrono::milliseconds>(s.settings.retry_delay);
    s.runner.emplace(*s.jobs, *s.client, reporting::case_content(*s.conn, std::move(co)),
                     std::move(ro));
  } else if (auto up = s.conn->ping(); !up) {
    return up.error();
  }
  const std::string env(reporting::to_string(s.settings.env));
  // Without credentials nothing is sent anywhere (and no test reaches NCMEC by default).
  const bool can_file = !s.settings.credentials.username.empty();
  if (can_file && s.settings.auto_file) {
    auto queued = s.jobs->queue_unfiled(env, s.settings.allow_no_files, "system:auto_file");
    if (!queued) return queued.error();
    if (*queued > 0) std::cerr << "hashguard serve: auto_file queued " << *queued << " filings\n";
  }
  // Every runnable job, one after another (each to its end or its retry wait), then stop:
  // the next run comes one interval later or at the next poke.
  for (int n = 0; can_file && n < 1000 && !s.task->stop_requested(); ++n) {
    auto ran = s.runner->run_one();
    if (!ran) return ran.error();
    if (!*ran) break;
    const auto& j = **ran;
    if (j.state == "failed" || (j.state == "queued" && j.attempts > 0)) ++s.step_failures;
    if (j.state == "failed" || j.state == "finished") {
      std::cerr << "hashguard serve: filing job " << j.id << " of case " << j.case_id << " "
                << j.state << " (" << j.environment
                << (j.report_id ? ", report " + *j.report_id : std::string())
                << (j.last_error ? ": " + *j.last_error : std::string()) << ")\n";
    }
  }
  auto counts = s.jobs->counts();
  if (!counts) return counts.error();
  const std::lock_guard lock(s.metrics_mutex);
  s.counts = std::move(*counts);
  return {};
}

}  // namespace

void declare_serve_reporting_config(core::config& cfg) {
  reporting::declare_reporting_config(cfg);
}

std::unique_ptr<serve_reporting> serve_reporting::start(
    const core::config& cfg, hashdb::package_options package,
    std::optional<hashdb::evidence_key> evidence, const std::string& database_url,
    std::shared_ptr<const hashdb::audit_keyring> audit_keys, const std::string& node,
    serve_tasks& tasks, std::string& problem) {
  auto settings = reporting::reporting_settings_from(cfg, &problem);
  if (!settings) return nullptr;
  std::unique_ptr<serve_reporting> out(new serve_reporting());
  out->s_ = std::make_unique<state>();
  state& s = *out->s_;
  s.settings = std::move(*settings);
  s.package = std::move(package);
  s.evidence = std::move(evidence);
  s.database_url = database_url;
  s.audit_keys = std::move(audit_keys);
  s.owner = node + "/" + std::to_string(::getpid());
  s.client.emplace(s.runner_http, s.settings.base_url, s.settings.credentials);

  const auto checked = out->check();
  std::cerr << "hashguard serve: reporting " << checked.environment << " at " << checked.base_url
            << ": status " << (checked.ok ? "ok" : "FAILED") << " (" << checked.detail << ")"
            << (s.settings.auto_file ? ", auto_file on" : "") << "\n";

  core::periodic_task::options o;
  o.name = "report";
  o.interval = s.settings.interval;
  o.on_failure = log_task_failure();
  state* raw = &s;
  s.task = std::make_unique<core::periodic_task>(std::move(o), [raw] { return run_jobs(*raw); });
  tasks.watch(*s.task);
  (void)s.task->start();
  s.task->poke();  // jobs left by a previous run start now
  return out;
}

serve_reporting::~serve_reporting() {
  if (!s_) return;
  s_->runner_http.cancel();
  s_->check_http.cancel();
  if (s_->task) s_->task->stop();
}

handlers::filing_check serve_reporting::check() {
  handlers::filing_check out;
  out.environment = std::string(reporting::to_string(s_->settings.env));
  out.base_url = s_->settings.base_url;
  if (s_->settings.credentials.username.empty()) {
    out.checked_at = now_iso();
    out.detail = "no credentials configured (reporting." + out.environment +
                 ".username_file, .password_file): nothing is filed";
    s_->status_ok = 0;
    return out;
  }
  const std::lock_guard lock(s_->check_mutex);
  reporting::ispws_client client(s_->check_http, s_->settings.base_url, s_->settings.credentials);
  auto a = client.status();
  out.checked_at = now_iso();
  if (!a) {
    out.detail = "no usable answer: " + a.error().message();
  } else {
    out.ok = a->ok();
    out.detail = "responseCode " + std::to_string(a->response_code) +
                 (a->description.empty() ? "" : " (" + a->description + ")");
  }
  s_->status_ok = out.ok ? 1 : 0;
  return out;
}

handlers::filing_services serve_reporting::services() {
  handlers::filing_services f;
  f.environment = std::string(reporting::to_string(s_->settings.env));
  f.allow_no_files = s_->settings.allow_no_files;
  f.max_attempts = s_->settings.max_attempts;
  f.job_queued = [this] { s_->task->poke(); };
  f.check = [this] { return check(); };
  return f;
}

core::result<void> serve_reporting::export_metrics(api::metrics& metrics) const {
  const state* s = s_.get();
  if (auto r = metrics.add_family("hg_report_jobs",
                                  "CyberTipline filing jobs per state (as of this node's last run)",
                                  api::metric_kind::gauge,
                                  [s] {
                                    std::vector<api::metric_sample> out;
                                    const std::lock_guard lock(s->metrics_mutex);
                                    for (const auto& [name, n] : s->counts) {
                                      out.push_back({{{"state", name}}, static_cast<double>(n)});
                                    }
                                    return out;
                                  });
      !r) {
    return r;
  }
  if (auto r = metrics.add_family("hg_report_step_failures_total",
                                  "CyberTipline filing steps that failed on this node",
                                  api::metric_kind::counter,
                                  [s] {
                                    return std::vector<api::metric_sample>{
                                        {{}, static_cast<double>(s->step_failures.load())}};
                                  });
      !r) {
    return r;
  }
  return metrics.add_family(
      "hg_reporting_status_ok", "1 when the last ISPWS /status check succeeded",
      api::metric_kind::gauge, [s] {
        return std::vector<api::metric_sample>{{{}, static_cast<double>(s->status_ok.load())}};
      });
}

}  // namespace hashguard::app
