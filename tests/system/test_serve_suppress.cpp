// Suppressed content answers no_match (DESIGN.md section 3), over real sockets on `hashguard
// serve` processes sharing the hg_pg fixture's PostgreSQL: an image that matches a list is
// dismissed by a reviewer with suppression; the same image then answers no_match on the node
// that took the decision (through the recorder's `suppressed` outcome, before its in-memory set
// knows), on a second node within its poll interval (through its set, /v1/match included) and
// on a node started afterwards (loaded at start); another matching image still matches; the
// suppressed sightings are still recorded, with no case; a later confirmation of the same
// content in another zone lifts the suppression everywhere (scans at once, through the
// committed event's outcome; /v1/match within the poll interval).
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "http_client.hpp"
#include "openapi_check.hpp"
#include "serve_api.hpp"
#include "serve_process.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <thread>

using namespace hg_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string data_dir = HG_TEST_DATA;
const std::string match_image =
    data_dir + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg";
const std::string other_image =
    data_dir + "/pdq-vectors/images/reg-test-input/labelme-subset/q0122.jpg";

const std::string ingest = "ingest-key-for-suppress-0123456789ab";
const std::string reviewer = "reviewer-key-for-suppress-0123456789";
const std::string admin = "admin-key-for-suppress-0123456789abc";

json::value call_json(std::uint16_t port, std::string_view method, const std::string& target,
                      const std::string& key, std::optional<std::string_view> body,
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      int expect = 200) {
  auto r = exchange(port, method, target, key, body, headers);
  REQUIRE(r);
  INFO(method << " " << target << " -> " << r->status << " " << r->body);
  REQUIRE(r->status == expect);
  return json::parse(r->body);
}

json::value scan(std::uint16_t port, const std::string& image, const std::string& zone) {
  auto v = call_json(port, "POST", "/v1/scan", ingest, image, {{"X-Zone", zone}});
  require_schema("ScanResult", v);
  return v;
}

json::value match(std::uint16_t port, const std::string& body) {
  auto v =
      call_json(port, "POST", "/v1/match", ingest, body, {{"Content-Type", "application/json"}});
  require_schema("MatchResult", v);
  return v;
}

bool is_match(const json::value& v) {
  return v.at("verdict").as_string() == "match" && !v.at("hits").as_array().empty() &&
         !v.at("suppressed").as_bool();
}

/// The answer for suppressed content: no_match, action none, no hits, suppressed.
void check_suppressed(const json::value& v) {
  INFO(json::serialize(v));
  CHECK(v.at("verdict").as_string() == "no_match");
  CHECK(v.at("action").as_string() == "none");
  CHECK(v.at("hits").as_array().empty());
  CHECK(v.at("suppressed").as_bool());
}

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit, std::chrono::milliseconds step = 20ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(step);
  }
  return p();
}

void wait_for_pdq_entries(std::uint16_t port, std::uint64_t n) {
  CHECK(eventually(
      [&] {
        auto idx = call_json(port, "GET", "/v1/index", admin, std::nullopt);
        return idx.at("sizes").at("pdq").to_number<std::uint64_t>() == n;
      },
      30s, 25ms));
}

/// The case an event joined (nullopt: none), once the event is in the database.
std::optional<std::int64_t> case_of_event(const std::string& url, const std::string& event_id) {
  for (int i = 0; i < 200; ++i) {
    pqxx::connection pc(url);
    pqxx::read_transaction tx(pc);
    auto rows = tx.exec_params("SELECT case_id FROM events WHERE id = $1::uuid", event_id);
    if (!rows.empty()) {
      if (rows[0][0].is_null()) return std::nullopt;
      return rows[0][0].as<std::int64_t>();
    }
    std::this_thread::sleep_for(25ms);
  }
  FAIL("event " << event_id << " never reached the database");
  return std::nullopt;
}

/// A gauge's value in /metrics (-1 when absent).
double metric(std::uint16_t port, const std::string& name) {
  auto r = fetch(port, "GET", "/metrics");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  std::istringstream in(r->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

struct node_dir {
  std::filesystem::path path;
  explicit node_dir(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             ("hg-serve-suppress-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~node_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  node_dir(const node_dir&) = delete;
  node_dir& operator=(const node_dir&) = delete;
};

std::vector<std::string> serve_args(const std::string& url, const node_dir& dir,
                                    const std::string& name, int suppressions_poll_ms) {
  return {HG_HASHGUARD_BIN, "serve", "--http-port=0", "--database-url=" + url,
          "--data-dir=" + dir.path.string(), "--node-name=" + name,
          "--auth-keys=ingest:" + ingest + ",reviewer:" + reviewer, "--auth-bootstrap-key=" + admin,
          "--snapshot-poll-ms=50", "--suppressions-poll-ms=" + std::to_string(suppressions_poll_ms),
          // One reviewer decides alone: suppression across nodes is under test, not the
          // two-person rule.
          "--cases-required-confirmations=1",
          // Long enough that a loaded machine commits (not spools) each event: the recorder's
          // `suppressed` outcome comes from the database.
          "--database-commit-deadline-ms=10000", "--http-log-requests=false"};
}

}  // namespace

TEST_CASE("serve: content dismissed with suppression answers no_match on every node") {
  test_database db;
  node_dir dir_a("a"), dir_b("b"), dir_c("c");
  constexpr int b_poll_ms = 100;
  // Node A never polls the feed after its start (an hour): what it learns about suppression
  // after that comes only from the recorder's outcome. Node B polls every 100 ms.
  serve_process a(serve_args(db.url(), dir_a, "node-a", 3'600'000));
  serve_process b(serve_args(db.url(), dir_b, "node-b", b_poll_ms));

  const std::string image = file_bytes(match_image);
  const std::string image2 = file_bytes(other_image);
  const auto hashes = call_json(a.port(), "POST", "/v1/hash", ingest, image).at("hashes");
  const auto hashes2 = call_json(a.port(), "POST", "/v1/hash", ingest, image2).at("hashes");
  const std::string sha256(hashes.at("sha256").as_string());
  const std::string pdq(hashes.at("pdq").as_string());
  const std::string by_sha = R"({"sha256":")" + sha256 + R"(","pdq":")" + pdq + R"("})";
  const std::string by_pdq = R"({"pdq":")" + pdq + R"("})";

  call_json(a.port(), "POST", "/v1/lists", admin,
            R"({"name":"suppress-test","signal":"pdq","threshold":31,"action":"block"})",
            {{"Content-Type", "application/json"}}, 201);
  call_json(a.port(), "POST", "/v1/lists/suppress-test/hashes?format=hex", admin,
            pdq + "\n" + std::string(hashes2.at("pdq").as_string()) + "\n");
  wait_for_pdq_entries(a.port(), 2);
  wait_for_pdq_entries(b.port(), 2);

  // Before any decision: the image matches (zone 1 and zone 2: two cases), as does the other.
  const auto first = scan(a.port(), image, "zone-1");
  CHECK(is_match(first));
  CHECK(first.at("action").as_string() == "block");
  const auto case1 = case_of_event(db.url(), std::string(first.at("event_id").as_string()));
  const auto elsewhere = scan(a.port(), image, "zone-2");
  REQUIRE(is_match(elsewhere));
  const auto case2 = case_of_event(db.url(), std::string(elsewhere.at("event_id").as_string()));
  REQUIRE(case1);
  REQUIRE(case2);
  REQUIRE(*case1 != *case2);
  CHECK(is_match(scan(b.port(), image2, "zone-x")));
  CHECK(is_match(match(b.port(), by_sha)));
  CHECK(metric(a.port(), "hg_suppressed_contents") == 0);

  // A reviewer dismisses zone 1's case as a false positive and suppresses its content.
  const auto decided = std::chrono::steady_clock::now();
  const auto dismissed =
      call_json(a.port(), "POST", "/v1/cases/" + std::to_string(*case1) + "/decision", reviewer,
                R"({"decision":"false_positive","note":"a bridge","suppress":true})",
                {{"Content-Type", "application/json"}});
  CHECK(dismissed.at("status").as_string() == "false_positive");

  // Node A: its set is stale, yet the scan answers no_match: the database recorded the
  // sighting as suppressed. The event id is the sighting's.
  const auto on_a = scan(a.port(), image, "zone-1");
  check_suppressed(on_a);
  CHECK(on_a.at("event_id").as_string().size() == 36);
  CHECK(on_a.at("durability").as_string() == "committed");
  CHECK_FALSE(case_of_event(db.url(), std::string(on_a.at("event_id").as_string())));
  // Proof that it was the outcome, not the set: /v1/match (which records nothing) consults
  // only the set, which on A has not caught up.
  CHECK(is_match(match(a.port(), by_sha)));
  CHECK(metric(a.port(), "hg_suppressed_answers_total") == 1);

  // Node B: its set has the content within a few poll intervals; /v1/match with the SHA-256
  // answers no_match, and so does a scan.
  const bool caught_up = eventually([&] { return !is_match(match(b.port(), by_sha)); }, 30s, 10ms);
  const double b_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - decided).count();
  REQUIRE(caught_up);
  WARN("node B answered no_match " << b_ms << " ms after the decision (poll " << b_poll_ms
                                   << " ms)");
  CHECK(b_ms < 30.0 * b_poll_ms);  // generous: a loaded 2-core machine, sanitizers
  check_suppressed(match(b.port(), by_sha));
  check_suppressed(scan(b.port(), image, "zone-3"));
  // Without the SHA-256, /v1/match cannot know the content: the PDQ still matches.
  CHECK(is_match(match(b.port(), by_pdq)));
  CHECK(metric(b.port(), "hg_suppressed_contents") == 1);
  CHECK(metric(b.port(), "hg_suppressed_answers_total") >= 2);

  // Other matching content is untouched, on both nodes.
  CHECK(is_match(scan(a.port(), image2, "zone-x")));
  CHECK(is_match(scan(b.port(), image2, "zone-x")));

  // A node started after the decision has the suppression from its first request (node C
  // polls hourly: what its set holds was loaded at start).
  serve_process c(serve_args(db.url(), dir_c, "node-c", 3'600'000));
  check_suppressed(match(c.port(), by_sha));
  CHECK(metric(c.port(), "hg_suppressed_contents") == 1);
  check_suppressed(scan(c.port(), image, "zone-1"));

  // The case store kept both suppressed sightings, with no case; zone 1's case did not grow.
  {
    pqxx::connection pc(db.url());
    pqxx::read_transaction tx(pc);
    const auto suppressed_events =
        tx.exec_params1(
              "SELECT count(*) FROM events WHERE sha256 = decode($1, 'hex') AND suppressed"
              " AND case_id IS NULL",
              sha256)[0]
            .as<int>();
    CHECK(suppressed_events == 3);
    CHECK(tx.exec_params1("SELECT sightings FROM cases WHERE id = $1", *case1)[0].as<int>() == 1);
    const auto hits = tx.exec_params1("SELECT count(*) FROM event_hits WHERE event_id = $1::uuid",
                                      std::string(on_a.at("event_id").as_string()))[0]
                          .as<int>();
    CHECK(hits == 1);  // the hits stay in the record, only the answer drops them
  }

  // Zone 2's case of the same content is confirmed: the confirmation wins. Node B's set drops
  // the content within its interval; node A's scan matches again (the database no longer
  // suppresses it, and A's set never had it); node C's stale set still holds the content, yet
  // its scan matches too: the committed event's outcome overrules the set.
  call_json(a.port(), "POST", "/v1/cases/" + std::to_string(*case2) + "/decision", reviewer,
            R"({"decision":"confirmed","classification":"A1","note":"checked"})",
            {{"Content-Type", "application/json"}});
  CHECK(eventually([&] { return is_match(match(b.port(), by_sha)); }, 30s, 10ms));
  CHECK(metric(b.port(), "hg_suppressed_contents") == 0);
  const auto again = scan(a.port(), image, "zone-1");
  CHECK(is_match(again));
  CHECK(again.at("action").as_string() == "block");
  CHECK(case_of_event(db.url(), std::string(again.at("event_id").as_string())));
  CHECK(is_match(scan(b.port(), image, "zone-1")));
  const auto on_c = scan(c.port(), image, "zone-1");
  CHECK(is_match(on_c));
  CHECK(on_c.at("durability").as_string() == "committed");
  check_suppressed(match(c.port(), by_sha));  // /v1/match has only the (stale) set

  CHECK(c.stop(SIGTERM).code == 0);
  CHECK(a.stop(SIGTERM).code == 0);
  CHECK(b.stop(SIGTERM).code == 0);
}
