// `hashguard serve` under load, over real sockets, on the fixture's PostgreSQL:
//   - a snapshot swap during load (list PATCHes and imports while client threads POST /v1/scan)
//     fails no request;
//   - SIGTERM during load loses no match: every event id a client received is in the database
//     (after a restart replays what was spooled), and no request was recorded twice;
//   - 200 concurrent connections on real routes are all answered correctly.
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "serve_api.hpp"
#include "serve_process.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace hg_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string data_dir = HG_TEST_DATA;
// A small photo (7 KB) keeps the scan pool's work per request low on a shared machine.
const std::string image_path =
    data_dir + "/pdq-vectors/images/reg-test-input/labelme-subset/q0122.jpg";
const std::string ingest = "ingest-key-for-load-0123456789abcdef";
const std::string admin = "admin-key-for-load-0123456789abcdefg";

// serve on the fixture's database, with a scratch directory (spool, snapshot cache).
std::vector<std::string> serve_args(const test_database& db, const temp_dir& dir,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> flags{"--database-url=" + db.url(),   "--data-dir=" + dir.path.string(),
                                 "--auth-keys=ingest:" + ingest, "--auth-bootstrap-key=" + admin,
                                 "--snapshot-poll-ms=50",        "--http-log-requests=false"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return serve_command(flags);
}

std::optional<http_response> call(std::uint16_t port, std::string_view method,
                                  const std::string& target, const std::string& key,
                                  std::optional<std::string_view> body = std::nullopt,
                                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  return exchange(port, method, target, key, body, headers, 30000ms);
}

/// Creates list "load" (pdq, threshold 31, block) holding the image's PDQ; waits until this
/// node's snapshot has it. Returns the image's PDQ hex.
std::string make_list(std::uint16_t port, const std::string& image) {
  const std::string pdq = pdq_of(port, ingest, image);
  hg_test::make_list(port, admin, "load", {pdq});
  REQUIRE(wait_pdq_entries(port, admin, 1));
  return pdq;
}

std::int64_t snapshot_version(std::uint16_t port) {
  auto idx = call(port, "GET", "/v1/index", admin);
  REQUIRE(idx);
  REQUIRE(idx->status == 200);
  return json::parse(idx->body).at("version").as_int64();
}

// A random-looking PDQ hex for filler imports (never near the image's hash in practice).
std::string filler_pdq(std::uint64_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  std::uint64_t x = n * 0x9E3779B97F4A7C15ULL + 1;
  for (int i = 0; i < 64; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out += digits[x & 15];
  }
  return out;
}

}  // namespace

TEST_CASE("serve: a snapshot swap during load fails no request") {
  test_database db;
  temp_dir dir("hg-load-swap");
  serve_process srv(serve_args(db, dir));
  const auto port = srv.port();
  const std::string image = file_bytes(image_path);
  make_list(port, image);
  const auto version_before = snapshot_version(port);

  constexpr int clients = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::set<std::int64_t> versions_seen;  // snapshot versions that answered scans
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      // One keep-alive connection per client; a new one only after the server closes it
      // (keepalive_max_requests), which is not a failure.
      std::unique_ptr<client> c;
      for (int i = 0; !stop.load(); ++i) {
        if (!c) c = std::make_unique<client>(port);
        const auto req =
            make_request("POST", "/v1/scan",
                         {{"Authorization", "Bearer " + ingest},
                          {"X-Zone", "load"},
                          {"X-Request-Id", "swap-" + std::to_string(t) + "-" + std::to_string(i)}},
                         std::string_view(image));
        std::optional<http_response> r;
        if (c->send(req)) r = c->read_response(30000ms);
        std::string problem;
        if (!r) {
          problem = "no answer";
        } else if (r->status != 200) {
          problem = std::to_string(r->status) + " " + r->body;
        } else {
          const auto v = json::parse(r->body);
          if (v.at("verdict").as_string() != "match" || v.at("event_id").is_null()) {
            problem = "not a recorded match: " + r->body;
          } else {
            std::lock_guard lock(mu);
            versions_seen.insert(v.at("snapshot_version").as_int64());
          }
          if (r->header("connection") == "close") c.reset();
        }
        if (!problem.empty()) {
          std::lock_guard lock(mu);
          failures.push_back(problem);
          c.reset();
        } else {
          ++answered;
        }
      }
    });
  }

  // Meanwhile: PATCH the threshold back and forth and import filler hashes, each a new list
  // version that this node rebuilds and swaps in.
  int changes = 0;
  for (int round = 0; round < 6; ++round) {
    // Scans keep going between changes, so some run on each new snapshot.
    REQUIRE(eventually([&] { return answered.load() >= (round + 1) * 3 * clients; }, 600s, 5ms));
    const std::string body = round % 2 == 0 ? R"({"threshold":24})" : R"({"threshold":31})";
    auto patched = call(port, "PATCH", "/v1/lists/load", admin, std::string_view(body),
                        {{"Content-Type", "application/json"}});
    REQUIRE(patched);
    CHECK(patched->status == 200);
    std::string filler;
    for (int k = 0; k < 200; ++k)
      filler += filler_pdq(static_cast<std::uint64_t>(round * 1000 + k)) + "\n";
    auto imported = call(port, "POST", "/v1/lists/load/hashes?format=hex", admin, filler);
    REQUIRE(imported);
    CHECK(imported->status == 200);
    changes += 2;
  }
  // Let the last swap land under load (checked below), then stop the clients.
  (void)wait_pdq_entries(port, admin, 1 + 6 * 200);
  const std::int64_t version_after = snapshot_version(port);
  const int before_stop = answered.load();
  REQUIRE(eventually([&] { return answered.load() >= before_stop + clients; }, 600s, 5ms));
  stop = true;
  for (auto& t : threads) t.join();

  std::string all_failures;
  for (const auto& f : failures) all_failures += f + "\n";
  INFO("answered " << answered.load() << ", list changes " << changes << ", snapshot versions "
                   << versions_seen.size() << "\n"
                   << all_failures);
  CHECK(failures.empty());
  CHECK(version_after > version_before);
  // The swaps happened under load: scans were answered by several snapshots in turn.
  CHECK(versions_seen.size() >= 3);
  CHECK(versions_seen.contains(version_after));
  auto idx = call(port, "GET", "/v1/index", admin);
  REQUIRE(idx);
  CHECK(json::parse(idx->body).at("sizes").at("pdq").to_number<std::uint64_t>() == 1 + 6 * 200);
  const auto exit = srv.stop(SIGTERM);
  CHECK(exit.exited);
  CHECK(exit.code == 0);
}

TEST_CASE("serve: SIGTERM during load loses no match and records none twice") {
  test_database db;
  temp_dir dir("hg-load-sigterm");
  const std::string image = file_bytes(image_path);
  std::map<std::string, std::string> received;  // request id -> event id
  int cut = 0;                                  // requests that got no answer
  {
    serve_process srv(serve_args(db, dir));
    const auto port = srv.port();
    make_list(port, image);

    constexpr int clients = 4;
    std::atomic<int> answered{0};
    std::mutex mu;
    std::vector<std::string> wrong;
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          const std::string request_id = "term-" + std::to_string(t) + "-" + std::to_string(i);
          std::optional<http_response> r;
          try {
            client c(port);  // refused once the server stopped accepting: this client is done
            if (c.send(make_request("POST", "/v1/scan",
                                    {{"Authorization", "Bearer " + ingest},
                                     {"X-Zone", "term"},
                                     {"X-Request-Id", request_id}},
                                    std::string_view(image)))) {
              r = c.read_response(30000ms);
            }
          } catch (const std::exception&) {
            return;
          }
          std::lock_guard lock(mu);
          if (!r) {
            ++cut;
            continue;
          }
          if (r->status != 200) {
            // Draining may refuse new work with 503; anything else is wrong.
            if (r->status != 503) wrong.push_back(std::to_string(r->status) + " " + r->body);
            continue;
          }
          const auto v = json::parse(r->body);
          if (v.at("verdict").as_string() != "match" || !v.at("event_id").is_string()) {
            wrong.push_back(r->body);
            continue;
          }
          received.emplace(request_id, std::string(v.at("event_id").as_string()));
          ++answered;
        }
      });
    }
    REQUIRE(eventually([&] { return answered.load() >= 8 * clients; }, 600s, 5ms));
    srv.signal(SIGTERM);
    for (auto& th : threads) th.join();
    const auto exit = srv.wait();
    INFO(srv.err_text());
    CHECK(exit.exited);
    CHECK(exit.code == 0);
    for (const auto& w : wrong) INFO(w);
    CHECK(wrong.empty());
  }

  // Events the recorder spooled (commit deadline passed under load) are replayed by the next
  // start on the same data directory; wait for its spool to empty.
  {
    serve_process again(serve_args(db, dir));
    CHECK(eventually(
        [&] {
          auto m = call(again.port(), "GET", "/metrics", "");
          return m && metric_value(m->body, "hg_spool_bytes") == 0.0;
        },
        120s, 25ms));
    const auto exit = again.stop(SIGTERM);
    CHECK(exit.exited);
  }

  pqxx::connection pc(db.url());
  pqxx::work tx(pc);
  const auto totals =
      tx.exec1("SELECT count(*), count(DISTINCT request_id) FROM events WHERE zone = 'term'");
  const auto events = totals[0].as<std::int64_t>();
  const auto distinct_requests = totals[1].as<std::int64_t>();
  std::set<std::string> stored;
  for (const auto& row :
       tx.exec("SELECT request_id || ' ' || id::text FROM events WHERE zone = 'term'")) {
    stored.insert(row[0].as<std::string>());
  }
  std::size_t lost = 0;
  for (const auto& [request_id, event_id] : received) {
    if (!stored.contains(request_id + " " + event_id)) ++lost;
  }
  INFO("match answers received " << received.size() << ", events stored " << events
                                 << ", requests without an answer " << cut);
  CHECK(received.size() >= 8 * 4);
  CHECK(lost == 0);                    // every answered match is in the database
  CHECK(events == distinct_requests);  // no request recorded twice
  // An event may be stored whose answer the client never saw (cut mid-answer), no more.
  CHECK(events >= static_cast<std::int64_t>(received.size()));
  CHECK(events <= static_cast<std::int64_t>(received.size()) + cut);
}

TEST_CASE("serve: 200 concurrent connections on real routes are all answered correctly") {
  test_database db;
  temp_dir dir("hg-load-conns");
  serve_process srv(serve_args(db, dir, {"--http-scan-queue=512"}));
  const auto port = srv.port();
  const std::string image = file_bytes(image_path);
  const std::string pdq = make_list(port, image);

  // Open all 200 first, so they are connected at once, then send one request on each.
  constexpr int n = 200;
  std::vector<std::unique_ptr<client>> conns;
  for (int i = 0; i < n; ++i) conns.push_back(std::make_unique<client>(port));
  const std::string match_body = R"({"pdq":")" + pdq + R"("})";
  for (int i = 0; i < n; ++i) {
    std::string req;
    switch (i % 4) {
      case 0:
        req = make_request("POST", "/v1/scan",
                           {{"Authorization", "Bearer " + ingest},
                            {"X-Zone", "conns"},
                            {"X-Request-Id", "conn-" + std::to_string(i)}},
                           std::string_view(image));
        break;
      case 1:
        req = make_request(
            "POST", "/v1/match",
            {{"Authorization", "Bearer " + ingest}, {"Content-Type", "application/json"}},
            std::string_view(match_body));
        break;
      case 2: req = make_request("GET", "/v1/index", {{"Authorization", "Bearer " + admin}}); break;
      default:
        req = make_request("GET", "/v1/lists/load/export?format=hex",
                           {{"Authorization", "Bearer " + admin}});
        break;
    }
    REQUIRE(conns[static_cast<std::size_t>(i)]->send(req));
  }
  int correct = 0;
  std::set<std::string> event_ids;
  for (int i = 0; i < n; ++i) {
    auto r = conns[static_cast<std::size_t>(i)]->read_response(60000ms);
    INFO("connection " << i);
    REQUIRE(r);
    INFO(r->body);
    CHECK(r->status == 200);
    if (r->status != 200) continue;
    bool ok = false;
    switch (i % 4) {
      case 0: {
        const auto v = json::parse(r->body);
        ok = v.at("verdict").as_string() == "match" && v.at("event_id").is_string();
        if (ok) event_ids.insert(std::string(v.at("event_id").as_string()));
        break;
      }
      case 1: {
        const auto v = json::parse(r->body);
        ok = v.at("verdict").as_string() == "match" && v.at("hits").as_array().size() == 1;
        break;
      }
      case 2:
        ok = json::parse(r->body).at("sizes").at("pdq").to_number<std::uint64_t>() == 1;
        break;
      default: ok = r->body.find(pdq) != std::string::npos; break;
    }
    CHECK(ok);
    if (ok) ++correct;
  }
  CHECK(correct == n);
  CHECK(event_ids.size() == n / 4);  // each scan its own request id, its own event
  const auto exit = srv.stop(SIGTERM);
  CHECK(exit.exited);
  CHECK(exit.code == 0);
}
