// report_bench: CyberTipline filing through `hashguard serve` (issue 19) against the in-repo fake
// ISPWS, on an embedded PostgreSQL.
//
// Ours:  from "file report" (POST /v1/cases/{id}/cybertipline) to a finished report at the fake,
//        for a confirmed case of 10 preserved files of 2 MB (target <= 5 s): the durable job
//        (every step stored with its receipt), the evidence decrypted per upload. Median of 3
//        (--quick: 1).
// Peer:  the bare ISPWS calls for the same content in this process, no job store, no
//        database, the bytes already in memory (submit, upload + fileinfo per file, finish).
// Crash: N cases (50; --quick 4) of 2 files each queued at once; serve SIGKILLed again and again
//        while it files them, at step boundaries (the fake holds the request of a step: the one
//        before is stored) and at random times, and restarted each time. Checked: every case
//        ends with exactly one finished report at the fake, every job's receipt holds each
//        step; counted: reports left open (only a kill after NCMEC opened a report and before
//        its answer reached serve can leave one: its reportId never arrived; NCMEC deletes it
//        unfinished) and files uploaded twice (an upload whose answer a kill cut off is sent
//        again).
// The last line is one JSON object (DESIGN.md section 9); "ok" is false when a check failed.
#include "bench_postgres.hpp"
#include "fake_ispws.hpp"
#include "http_client.hpp"
#include "serve_process.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/audit_config.hpp"
#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/evidence.hpp"
#include "hashguard/outbound/http_client.hpp"
#include "hashguard/reporting/ispws_client.hpp"

#include <openssl/sha.h>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace hashguard;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
namespace json = boost::json;

namespace {

const std::string compliance = "compliance-key-for-report-bench-0123";
const std::string admin = "admin-key-for-report-bench-0123456789";
const std::string evidence_hex(64, 'b');
const std::string audit_hex(64, 'c');

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

std::string sha256_hex(std::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : d) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    const auto v = rng();
    for (std::size_t k = 0; k < 8 && i + k < n; ++k) s[i + k] = static_cast<char>(v >> (8 * k));
  }
  return s;
}

std::int64_t scalar(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  return tx.exec1(sql)[0].as<std::int64_t>();
}

struct bench_env {
  bench::bench_database db;
  hg_test::fake_ispws fake{"esp-bench", "esp-bench-pass"};
  std::filesystem::path dir;
  std::unique_ptr<hg_test::serve_process> srv;
  hashdb::evidence_key key;
  std::shared_ptr<const hashdb::audit_keyring> audit;

  explicit bench_env(bench::bench_database d) : db(std::move(d)) {
    std::string tmpl = "/tmp/hg-report-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    key = *hashdb::parse_evidence_key("k1", evidence_hex);
    auto ring = std::make_shared<hashdb::audit_keyring>();
    ring->current = *hashdb::parse_audit_key("k1", audit_hex);
    audit = std::move(ring);
  }
  ~bench_env() {
    srv.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  void start() {
    srv = std::make_unique<hg_test::serve_process>(
        std::vector<std::string>{
            HG_HASHGUARD_BIN, "serve", "--http.port=0", "--http.address=127.0.0.1",
            "--database.url=" + db.url(), "--data.dir=" + (dir / "data").string(),
            "--auth.keys=compliance:" + compliance, "--auth.bootstrap_key=" + admin,
            "--audit.key=" + audit_hex, "--evidence.enabled=true", "--evidence.key=" + evidence_hex,
            "--http.log_requests=false", "--reporting.base_url=" + fake.base_url(),
            "--reporting.lease_s=1", "--reporting.retry_delay_s=1", "--reporting.interval_ms=50"},
        std::vector<std::string>{"HG_REPORTING_TEST_USERNAME=esp-bench",
                                 "HG_REPORTING_TEST_PASSWORD=esp-bench-pass"},
        (dir / "serve.log").string());
  }

  // A confirmed csam case of `files` preserved files of `size` random bytes each.
  std::int64_t make_case(std::mt19937_64& rng, int files, std::size_t size) {
    std::int64_t id = 0;
    std::vector<std::pair<std::string, std::string>> contents;  // (hex, bytes)
    {
      pqxx::connection pc(db.url());
      pqxx::work tx(pc);
      id = tx.exec_params1(
                 "INSERT INTO cases (zone, status, first_seen, last_seen, sightings)"
                 " VALUES ('bench.example', 'confirmed', now(), now(), $1) RETURNING id",
                 files)[0]
               .as<std::int64_t>();
      for (int i = 0; i < files; ++i) {
        std::string bytes = random_bytes(rng, size);
        std::string hex = sha256_hex(bytes);
        tx.exec_params0(
            "INSERT INTO case_files (case_id, content, sha256, first_seen, last_seen, sightings)"
            " VALUES ($1, decode($2, 'hex'), decode($2, 'hex'), now(), now(), 1)",
            id, hex);
        contents.emplace_back(std::move(hex), std::move(bytes));
      }
      tx.commit();
    }
    auto conn = hashdb::connection::open(db.url());
    if (!conn) throw std::runtime_error("cannot connect");
    conn->use_audit_keys(audit);
    hashdb::evidence_store store(*conn, key);
    for (const auto& [hex, bytes] : contents) {
      if (!store.preserve(id, hex, bytes, "application/octet-stream", "bench")) {
        throw std::runtime_error("preserve failed");
      }
    }
    return id;
  }

  std::optional<hg_test::http_response> call(std::string_view method, const std::string& target) {
    return hg_test::exchange(srv->port(), method, target, compliance, std::nullopt, {}, 30000ms);
  }

  std::string job_state(std::int64_t case_id) {
    auto r = call("GET", "/v1/cases/" + std::to_string(case_id) + "/cybertipline");
    if (!r || r->status != 200) return "";
    return std::string(json::parse(r->body).at("state").as_string());
  }
};

// One filing through serve: POST, then poll until finished. Milliseconds, or -1 on failure.
double file_one(bench_env& env, std::int64_t case_id) {
  const auto t0 = clock_type::now();
  auto r = env.call("POST", "/v1/cases/" + std::to_string(case_id) + "/cybertipline");
  if (!r || r->status != 202) return -1;
  while (ms_since(t0) < 120000) {
    const auto state = env.job_state(case_id);
    if (state == "finished") return ms_since(t0);
    if (state == "failed") return -1;
    std::this_thread::sleep_for(2ms);
  }
  return -1;
}

// The bare calls, no job store: milliseconds, or -1 on failure.
double bare_calls(const std::string& base_url, const std::vector<std::string>& files) {
  outbound::http_client http;
  reporting::ispws_client client(http, base_url, {"esp-bench", "esp-bench-pass"});
  const auto t0 = clock_type::now();
  auto s = client.submit(
      "<report><incidentSummary><incidentType>Child Pornography (possession, manufacture, and "
      "distribution)</incidentType><incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime>"
      "</incidentSummary><reporter><reportingPerson><firstName>T</firstName><lastName>S"
      "</lastName></reportingPerson></reporter></report>");
  if (!s || !s->ok()) return -1;
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto u = client.upload(s->report_id, "f" + std::to_string(i) + ".bin", files[i]);
    if (!u || !u->ok()) return -1;
    auto f = client.fileinfo("<fileDetails><reportId>" + s->report_id + "</reportId><fileId>" +
                             u->file_id +
                             "</fileId><fileViewedByEsp>false</fileViewedByEsp>"
                             "</fileDetails>");
    if (!f || !f->ok()) return -1;
  }
  auto fin = client.finish(s->report_id);
  if (!fin || !fin->ok()) return -1;
  return ms_since(t0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? -1 : v[v.size() / 2];
}

}  // namespace

int run(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else {
      std::cerr << "usage: report_bench [--quick]\n"
                   "Files a 10 x 2 MB case through serve against the fake ISPWS (beside the bare "
                   "calls), then kills serve while it files 50 cases. The last line is one JSON "
                   "object.\n";
      return 2;
    }
  }
  const int repeats = quick ? 1 : 3;
  const int crash_cases = quick ? 4 : 50;
  const int kills = quick ? 4 : 40;
  auto db = bench::bench_database::open("report_bench");
  if (!db) return 1;
  bench_env env(std::move(*db));
  env.start();
  std::mt19937_64 rng(19);

  // --- ours: file report -> finished at the fake, 10 x 2 MB ------------------------------------
  std::vector<double> ours;
  bool ok = true;
  for (int r = 0; r < repeats; ++r) {
    const auto id = env.make_case(rng, 10, 2u << 20);
    const double ms = file_one(env, id);
    ok = ok && ms >= 0;
    ours.push_back(ms);
  }
  std::printf(
      "ours, file report -> finished at the fake, 10 files of 2 MB: %.0f ms median of %d"
      " (target <= 5000)\n",
      median(ours), repeats);

  // --- peer: the bare ISPWS calls ----------------------------------------------------------------
  std::vector<std::string> files;
  for (int i = 0; i < 10; ++i) files.push_back(random_bytes(rng, 2u << 20));
  std::vector<double> bare;
  for (int r = 0; r < repeats; ++r) bare.push_back(bare_calls(env.fake.base_url(), files));
  ok = ok && median(bare) >= 0;
  std::printf("peer, the bare ISPWS calls (no job store, bytes in memory): %.0f ms median of %d\n",
              median(bare), repeats);

  // --- crash: kills while N cases are filed
  // -------------------------------------------------------
  const int finished_before = env.fake.finished_reports();
  const int open_before = env.fake.open_reports();
  std::vector<std::int64_t> cases;
  for (int i = 0; i < crash_cases; ++i) cases.push_back(env.make_case(rng, 2, 64u << 10));
  for (const auto id : cases) {
    auto r = env.call("POST", "/v1/cases/" + std::to_string(id) + "/cybertipline");
    if (!r || r->status != 202) ok = false;
  }
  const std::string in_cases = [&] {
    std::string s;
    for (const auto id : cases) s += (s.empty() ? "" : ",") + std::to_string(id);
    return "(" + s + ")";
  }();
  auto finished_jobs = [&] {
    return scalar(env.db.url(),
                  "SELECT count(*) FROM report_jobs WHERE state = 'finished' AND"
                  " case_id IN " +
                      in_cases);
  };
  using step = hg_test::fake_ispws::step;
  const step steps[] = {step::submit, step::upload, step::fileinfo, step::finish};
  int boundary_kills = 0;
  int random_kills = 0;
  const auto crash_t0 = clock_type::now();
  for (int k = 0; k < kills && finished_jobs() < crash_cases; ++k) {
    if (k % 2 == 0) {
      // At a step boundary: the request of that step is held as it arrives, serve killed.
      env.fake.hold(steps[(k / 2) % 4], 1 + static_cast<int>(rng() % 3));
      const auto t0 = clock_type::now();
      while (!env.fake.held() && ms_since(t0) < 20000) std::this_thread::sleep_for(1ms);
      if (!env.fake.held()) {
        env.fake.release();  // nothing came (all done): drop the hold
        continue;
      }
      env.srv->signal(SIGKILL);
      (void)env.srv->wait();
      env.fake.release();
      ++boundary_kills;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + static_cast<long>(rng() % 400)));
      env.srv->signal(SIGKILL);
      (void)env.srv->wait();
      ++random_kills;
    }
    env.start();
  }
  const auto t0 = clock_type::now();
  while (finished_jobs() < crash_cases && ms_since(t0) < 300000) std::this_thread::sleep_for(50ms);
  const double crash_s = ms_since(crash_t0) / 1000.0;

  // Every case: exactly one finished report at the fake, its job's receipts complete.
  const auto reports = env.fake.reports();
  int one_each = 0;
  int receipts_complete = 0;
  std::int64_t duplicate_uploads = 0;
  {
    pqxx::connection pc(env.db.url());
    pqxx::read_transaction tx(pc);
    for (const auto id : cases) {
      const auto jobs = tx.exec_params(
          "SELECT id, report_id FROM report_jobs WHERE case_id = $1 AND state = 'finished'", id);
      if (jobs.size() != 1) continue;
      const auto report_id = jobs[0][1].as<std::string>();
      const auto it = reports.find(report_id);
      if (it != reports.end() && it->second.finished) ++one_each;
      if (it != reports.end()) {
        duplicate_uploads += static_cast<std::int64_t>(it->second.file_ids.size()) - 2;
      }
      const auto steps_ok =
          tx.exec_params1(
                "SELECT count(DISTINCT (step, coalesce(file_index, -1))) FROM report_receipts"
                " WHERE job_id = $1 AND response_code IN (0, 5102)",
                jobs[0][0].as<std::int64_t>())[0]
              .as<std::int64_t>();
      if (steps_ok == 6) ++receipts_complete;  // submit, 2 x (upload, fileinfo), finish
    }
  }
  const int finished_at_fake = env.fake.finished_reports() - finished_before;
  const int open_left = env.fake.open_reports() - open_before;
  const bool crash_ok = one_each == crash_cases && finished_at_fake == crash_cases &&
                        receipts_complete == crash_cases;
  ok = ok && crash_ok;
  std::printf(
      "crash: %d cases, %d kills at step boundaries + %d at random times, %.1f s: %d with exactly "
      "one finished report at the fake (%d finished there in all), %d with every receipt; %d "
      "reports left open (a kill between NCMEC opening a report and serve storing its id), %lld "
      "files uploaded twice (answers cut off by a kill)\n",
      crash_cases, boundary_kills, random_kills, crash_s, one_each, finished_at_fake,
      receipts_complete, open_left, static_cast<long long>(duplicate_uploads));
  env.srv->signal(SIGTERM);
  (void)env.srv->wait();

  std::printf(
      "{\"bench\":\"report_bench\",\"quick\":%s,\"ok\":%s,\"file_report_10x2mb_ms\":%.0f,"
      "\"target_ms\":5000,\"peer_bare_ispws_ms\":%.0f,\"crash_cases\":%d,\"boundary_kills\":%d,"
      "\"random_kills\":%d,\"exactly_one_finished\":%d,\"receipts_complete\":%d,"
      "\"open_left\":%d,\"duplicate_uploads\":%lld}\n",
      quick ? "true" : "false", ok ? "true" : "false", median(ours), median(bare), crash_cases,
      boundary_kills, random_kills, one_each, receipts_complete, open_left,
      static_cast<long long>(duplicate_uploads));
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "report_bench: " << e.what() << "\n";
    return 1;
  }
}
