// PostgreSQL SIGKILLed and restarted while 5,000 matching scans run (issue 8, fault tests):
// afterwards, once the spool has drained, every match answered with an event id has exactly
// that one event in the database, no request has two, no answered request lacks its event,
// and the cases count each sighting once.
#include "system_support.hpp"

#include <pqxx/pqxx>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

using namespace hg_sys;

namespace {

const std::vector<std::string> images = {
    test_data + "/pdq-vectors/images/reg-test-input/labelme-subset/q0746.jpg",
    test_data + "/pdq-vectors/images/reg-test-input/labelme-subset/q1050.jpg",
    test_data + "/pdq-vectors/images/reg-test-input/labelme-subset/q0122.jpg",
    test_data + "/pdq-vectors/images/reg-test-input/labelme-subset/q0291.jpg",
};

// How far the clients may go: scan i waits until i < the limit. The test raises it in steps,
// so that scans are left to run during each outage and after each restart however fast the
// node answers (while PostgreSQL is down, a match only appends to the spool: the clients
// could otherwise finish the whole run inside the first outage).
class scan_gate {
 public:
  void open_to(int limit) {
    {
      std::lock_guard lock(mu_);
      limit_ = limit;
    }
    cv_.notify_all();
  }
  void wait_for(int i) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return i < limit_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int limit_{0};
};

struct answer {
  int status{0};
  std::string event_id;
  std::string durability;
  std::string retry_after;
  std::string body;
};

}  // namespace

TEST_CASE("fault: PostgreSQL killed -9 and restarted under 5000 scans loses and doubles nothing") {
  sys_dir dir("pgkill");
  private_pg pg(dir.path / "pg");
  const std::string ingest = "system-ingest-key-pgkill-0123456789a";
  const std::string admin = "system-admin-key-pgkill-0123456789ab";
  serve_process node(serve_command(
      {"--database-url=" + pg.url(), "--data-dir=" + (dir.path / "node").string(),
       "--auth-keys=ingest:" + ingest, "--auth-bootstrap-key=" + admin, "--snapshot-poll-ms=200",
       "--auth-refresh-ms=200", "--http-scan-threads=2", "--http-log-requests=false",
       // 5000 scans as fast as 4 clients go: the per-key rate limit (on by default) is not
       // what this test measures.
       "--auth-rate-limit-per-s=0"}));
  REQUIRE(eventually(
      [&] {
        auto r = call(node.port(), "GET", "/readyz", {});
        return r && r->status == 200;
      },
      120s));

  std::vector<std::string> bodies;
  std::vector<std::string> hashes;
  for (const auto& path : images) {
    bodies.push_back(file_bytes(path));
    hashes.push_back(pdq_of(node.port(), ingest, bodies.back()));
  }
  make_list(node.port(), admin, "pgkill", hashes);
  REQUIRE(wait_pdq_entries(node.port(), admin, hashes.size()));

  constexpr int total = 5000;
  constexpr int threads = 4;
  std::vector<answer> answers(total);
  std::atomic<int> next{0};
  std::atomic<int> finished{0};
  scan_gate gate;
  gate.open_to(2 * total / 5);
  auto worker = [&] {
    std::optional<hg_test::client> c;
    for (int i = next++; i < total; i = next++) {
      gate.wait_for(i);
      const std::string zone = "zone-" + std::to_string(i % 3);
      const header_list headers = {{"Authorization", "Bearer " + ingest},
                                   {"X-Zone", zone},
                                   {"X-Request-Id", "pgkill-" + std::to_string(i)},
                                   {"X-Source-Url", "https://edge.test/" + std::to_string(i)}};
      const std::string request = hg_test::make_request(
          "POST", "/v1/scan", headers, std::string_view(bodies[static_cast<std::size_t>(i) % 4]));
      std::optional<http_response> r;
      // A broken connection (never expected) is retried once on a fresh one; the same
      // request id makes the retry idempotent.
      for (int attempt = 0; attempt < 2 && !r; ++attempt) {
        try {
          if (!c) c.emplace(node.port());
          if (c->send(request)) r = c->read_response(120000ms);
        } catch (const std::exception&) {
        }
        if (!r) c.reset();
      }
      auto& a = answers[static_cast<std::size_t>(i)];
      if (r) {
        a.status = r->status;
        a.body = r->body;
        a.retry_after = r->header("retry-after");
        if (r->status == 200) {
          const auto v = json::parse(r->body);
          if (v.at("event_id").is_string()) a.event_id = v.at("event_id").as_string();
          if (const auto* d = v.as_object().if_contains("durability")) {
            a.durability = d->as_string();
          }
        }
      }
      ++finished;
    }
  };

  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) clients.emplace_back(worker);
  // The fault: SIGKILL to the postmaster once a fifth of the scans are answered, restarted
  // 1.5 s later while the scans go on; then again at three fifths (the first restart's crash
  // recovery and the spool's replay are then under way or just done). The clients may run a
  // fifth past each kill during the outage, and another fifth once PostgreSQL is back.
  std::vector<std::string> kills;
  for (const int at : {total / 5, 3 * total / 5}) {
    REQUIRE(eventually([&] { return finished.load() >= at; }, 900s));
    const pid_t killed = pg.postmaster();
    pg.kill9();
    const int answered_at_kill = finished.load();
    std::this_thread::sleep_for(1500ms);  // the outage's length (the clients go on meanwhile)
    pg.start();
    gate.open_to(at == total / 5 ? 4 * total / 5 : total);
    kills.push_back("postmaster " + std::to_string(killed) + " killed after " +
                    std::to_string(answered_at_kill) + " answers, restarted after " +
                    std::to_string(finished.load()));
    // The outage happened while scans were still running.
    CHECK(answered_at_kill < total);
  }
  for (auto& t : clients) t.join();
  REQUIRE(kills.size() == 2);
  INFO(kills[0] << "; " << kills[1]);

  std::map<std::string, int> statuses;
  std::map<std::string, std::string> answered;  // request id -> event id
  int spooled = 0;
  for (int i = 0; i < total; ++i) {
    const auto& a = answers[static_cast<std::size_t>(i)];
    ++statuses[std::to_string(a.status)];
    if (a.status == 200) {
      INFO(a.body);
      CHECK(json::parse(a.body).at("verdict").as_string() == "match");
      CHECK(a.event_id.size() == 36);
      answered["pgkill-" + std::to_string(i)] = a.event_id;
      if (a.durability == "spooled") ++spooled;
    } else {
      // Anything but a match answer must be a 503 with Retry-After: never a claimed record.
      INFO("request " << i << ": " << a.status << " " << a.body);
      CHECK(a.status == 503);
      CHECK_FALSE(a.retry_after.empty());
    }
  }
  std::string summary;
  for (const auto& [s, n] : statuses) summary += s + ":" + std::to_string(n) + " ";
  INFO("statuses " << summary << "; spooled answers " << spooled);
  WARN("pg kill: " << kills[0] << "; " << kills[1] << "; statuses " << summary << "; " << spooled
                   << " answers spooled, " << answered.size() << " events answered");
  // Every scan was answered with a match (the spool takes events while PostgreSQL is down).
  CHECK(answered.size() == static_cast<std::size_t>(total));

  REQUIRE(wait_spool_drained(node.port()));

  pqxx::connection pc(pg.url());
  pqxx::read_transaction tx(pc);
  std::map<std::string, std::vector<std::string>> stored;  // request id -> event ids
  std::int64_t event_rows = 0;
  for (const auto& row :
       tx.exec("SELECT request_id, id::text FROM events WHERE request_id LIKE 'pgkill-%'")) {
    stored[row[0].as<std::string>()].push_back(row[1].as<std::string>());
    ++event_rows;
  }
  int missing = 0;
  int doubled = 0;
  int wrong_id = 0;
  for (const auto& [rid, eid] : answered) {
    auto it = stored.find(rid);
    if (it == stored.end()) {
      ++missing;
      continue;
    }
    if (it->second.size() != 1) ++doubled;
    if (it->second.front() != eid) ++wrong_id;
  }
  CHECK(missing == 0);
  CHECK(doubled == 0);
  CHECK(wrong_id == 0);
  CHECK(event_rows == static_cast<std::int64_t>(answered.size()));
  // Every event is counted once in its case, and each hit row exists once.
  const auto sightings = tx.exec1("SELECT coalesce(sum(sightings), 0) FROM cases")[0].as<long>();
  CHECK(sightings == event_rows);
  const auto hit_rows = tx.exec1(
                              "SELECT count(*) FROM event_hits h JOIN events e ON e.id = h.event_id"
                              " WHERE e.request_id LIKE 'pgkill-%'")[0]
                            .as<long>();
  CHECK(hit_rows >= event_rows);
  // Nothing was set aside as refused or corrupt.
  for (const auto& entry : fs::directory_iterator(dir.path / "node" / "spool")) {
    INFO(entry.path());
    CHECK(entry.path().filename() == "events.spool");
  }
  tx.commit();

  const auto status = node.stop(SIGTERM);
  INFO(node.err_text());
  CHECK(status.exited);
  CHECK(status.code == 0);
}
