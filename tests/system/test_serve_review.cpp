// `hashguard serve`'s review side over real sockets, on the fixture's PostgreSQL:
//  - evidence preservation from the scan handler: matched content is sealed (AES-256-GCM) into
//    its case, a no_match scan keeps nothing, nothing is plaintext at rest, a reveal is audited;
//  - the purge: `hashguard cases purge` and serve's periodic purge delete expired evidence
//    and keep the evidence of a case on legal hold;
//  - exports are sent from a file: a large one arrives complete, with a Content-Length, and
//    its bytes hash to the custody record's SHA-256;
//  - the audit head: serve publishes it (log line, head file), `hashguard audit verify` and
//    /v1/audit/verify check the log against it, and catch its newest rows cut off.
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "serve_api.hpp"
#include "serve_process.hpp"
#include "system_support.hpp"

#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/cases.hpp"

#include <openssl/sha.h>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <signal.h>

using namespace hg_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string data_dir = HG_TEST_DATA;
const std::string match_image =
    data_dir + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg";
const std::string other_image =
    data_dir + "/pdq-vectors/images/reg-test-input/labelme-subset/q0122.jpg";

const std::string ingest = "ingest-key-for-review-test-012345678";
const std::string reviewer = "reviewer-key-for-review-test-0123456";
const std::string compliance = "compliance-key-for-review-test-01234";
const std::string admin = "admin-key-for-review-test-0123456789";
const std::string evidence_key(64, 'a');

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

std::optional<http_response> request(
    std::uint16_t port, std::string_view method, std::string_view target, std::string_view key,
    std::optional<std::string_view> body = std::nullopt,
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    std::chrono::milliseconds timeout = 10000ms) {
  return exchange(port, method, target, key, body, headers, timeout);
}

json::value json_of(const http_response& r) {
  INFO(r.body);
  return json::parse(r.body);
}

std::vector<std::string> serve_args(const std::string& db_url, const std::filesystem::path& dir,
                                    int purge_interval_s) {
  return {HG_HASHGUARD_BIN,
          "serve",
          "--http.port=0",
          "--http.address=127.0.0.1",
          "--database.url=" + db_url,
          "--data.dir=" + (dir / "data").string(),
          "--auth.keys=ingest:" + ingest + ",reviewer:" + reviewer + ",compliance:" + compliance,
          "--auth.bootstrap_key=" + admin,
          "--snapshot.poll_ms=50",
          "--evidence.enabled=true",
          "--evidence.key=" + evidence_key,
          "--evidence.retry_ms=50",
          "--retention.purge_interval_s=" + std::to_string(purge_interval_s),
          "--http.log_requests=false"};
}

// A PDQ list holding the match image's hash, made through the admin API; waits until this
// node's snapshot has it.
void make_list(std::uint16_t port, const std::string& image) {
  hg_test::make_list(port, admin, "review-test", {pdq_of(port, ingest, image)});
  REQUIRE(wait_pdq_entries(port, admin, 1));
}

json::value scan(std::uint16_t port, const std::string& image, const std::string& zone,
                 const std::string& request_id) {
  auto r = request(port, "POST", "/v1/scan", ingest, image,
                   {{"X-Zone", zone},
                    {"X-Request-Id", request_id},
                    {"X-Source-Url", "https://" + zone + "/img.jpg"}});
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  return json::parse(r->body);
}

std::int64_t count(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  return tx.exec1(sql)[0].as<std::int64_t>();
}

void exec(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  tx.exec0(sql);
  tx.commit();
}

// Waits until the evidence table holds `n` rows for the case (the keeper seals off the
// request path).
bool wait_evidence(const std::string& url, std::int64_t case_id, std::int64_t n) {
  return eventually(
      [&] {
        return count(url, "SELECT count(*) FROM evidence WHERE case_id = " +
                              std::to_string(case_id)) == n;
      },
      120s);
}

std::int64_t case_of_event(const std::string& url, const std::string& event_id) {
  std::int64_t id = 0;
  (void)eventually(
      [&] {
        id = count(url,
                   "SELECT coalesce(max(case_id), 0) FROM events WHERE id = '" + event_id + "'");
        return id > 0;
      },
      120s);
  REQUIRE(id > 0);
  return id;
}

bool contains_in_tree(const std::filesystem::path& root, const std::string& needle) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    if (file_bytes(e.path().string()).find(needle) != std::string::npos) return true;
  }
  return false;
}

std::vector<json::value> audit_entries(std::uint16_t port) {
  auto r = request(port, "GET", "/v1/audit?limit=1000", compliance);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const json::value v = json_of(*r);
  std::vector<json::value> out;
  for (const auto& e : v.at("entries").as_array()) out.push_back(e);
  return out;
}

bool has_audit(const std::vector<json::value>& entries, std::string_view action,
               std::string_view subject) {
  return std::any_of(entries.begin(), entries.end(), [&](const json::value& e) {
    return e.at("action").as_string() == action && e.at("subject").as_string() == subject;
  });
}

}  // namespace

TEST_CASE(
    "serve: evidence preservation keeps matched content only and sealed and audits reveals and "
    "cases purge deletes expired evidence except on legal hold") {
  test_database db;
  temp_dir tmp("hg-serve-review-evidence");
  serve_process srv(serve_args(db.url(), tmp.path, 0));
  const auto port = srv.port();
  const std::string image = file_bytes(match_image);
  const std::string other = file_bytes(other_image);
  make_list(port, image);

  // No match: no event, nothing kept.
  const auto miss = scan(port, other, "zone-a.test", "r-miss");
  CHECK(miss.at("verdict").as_string() == "no_match");
  CHECK(miss.at("event_id").is_null());

  const auto hit = scan(port, image, "zone-a.test", "r-1");
  REQUIRE(hit.at("verdict").as_string() == "match");
  const std::int64_t case_a = case_of_event(db.url(), std::string(hit.at("event_id").as_string()));
  REQUIRE(wait_evidence(db.url(), case_a, 1));
  // Only the matched file, nothing of the unmatched one.
  CHECK(count(db.url(), "SELECT count(*) FROM evidence") == 1);
  CHECK(count(db.url(), "SELECT count(*) FROM evidence WHERE plain_sha256 = decode('" +
                            sha256_hex(other) + "', 'hex')") == 0);

  // Encrypted at rest: the stored bytes are the same length (GCM) but not the plaintext, and
  // no run of the image appears in them, in the database or in serve's data directory.
  {
    pqxx::connection pc(db.url());
    pqxx::read_transaction tx(pc);
    const auto row = tx.exec1(
        "SELECT ciphertext, encode(plain_sha256, 'hex'), encode(content, 'hex'), key_id,"
        " media_type FROM evidence");
    const pqxx::binarystring ct(row[0]);
    const std::string stored(reinterpret_cast<const char*>(ct.data()), ct.size());
    CHECK(stored.size() == image.size());
    CHECK(stored != image);
    CHECK(stored.find(image.substr(image.size() / 2, 64)) == std::string::npos);
    CHECK(row[1].as<std::string>() == sha256_hex(image));
    CHECK(row[2].as<std::string>() == sha256_hex(image));
    CHECK(row[3].as<std::string>() == "k1");
    CHECK(row[4].as<std::string>() == "image/jpeg");
  }
  CHECK_FALSE(contains_in_tree(tmp.path / "data", image.substr(image.size() / 2, 64)));

  // The case says the file is preserved and nobody has viewed it yet.
  auto detail = request(port, "GET", "/v1/cases/" + std::to_string(case_a), reviewer);
  REQUIRE(detail);
  REQUIRE(detail->status == 200);
  const json::value detail_json = json_of(*detail);
  const json::value file = detail_json.at("files").as_array().at(0);
  CHECK(file.at("evidence_preserved").as_bool());
  CHECK_FALSE(file.at("viewed_by_esp").as_bool());

  // Reveal: the reviewer gets the original bytes; the reveal is in the audit trail and the
  // file is marked viewed by the provider. Compliance may not reveal.
  const std::string reveal_target =
      "/v1/cases/" + std::to_string(case_a) + "/files/" + sha256_hex(image) + "/reveal";
  auto denied = request(port, "POST", reveal_target, compliance, R"({"purpose":"test"})",
                        {{"Content-Type", "application/json"}});
  REQUIRE(denied);
  CHECK(denied->status == 403);
  auto revealed = request(port, "POST", reveal_target, reviewer, R"({"purpose":"test"})",
                          {{"Content-Type", "application/json"}});
  REQUIRE(revealed);
  REQUIRE(revealed->status == 200);
  CHECK(revealed->body == image);
  CHECK(revealed->header("content-type") == "image/jpeg");
  CHECK(revealed->header("x-evidence-sha256") == sha256_hex(image));
  const auto audit = audit_entries(port);
  const std::string subject_a = "case:" + std::to_string(case_a);
  CHECK(has_audit(audit, "evidence.preserve", subject_a));
  CHECK(has_audit(audit, "evidence.reveal", subject_a));
  auto after = request(port, "GET", "/v1/cases/" + std::to_string(case_a), reviewer);
  REQUIRE(after);
  CHECK(json_of(*after).at("files").as_array().at(0).at("viewed_by_esp").as_bool());

  // The same request id again is the same event: no second copy.
  CHECK(scan(port, image, "zone-a.test", "r-1").at("event_id") == hit.at("event_id"));

  // A second case (another zone), put on legal hold; both past their preservation deadline.
  const auto hit_b = scan(port, image, "zone-b.test", "r-2");
  const std::int64_t case_b =
      case_of_event(db.url(), std::string(hit_b.at("event_id").as_string()));
  REQUIRE(case_b != case_a);
  REQUIRE(wait_evidence(db.url(), case_b, 1));
  CHECK(count(db.url(), "SELECT count(*) FROM evidence") == 2);
  exec(db.url(), "UPDATE cases SET preserve_until = now() - interval '1 day' WHERE id IN (" +
                     std::to_string(case_a) + ", " + std::to_string(case_b) + ")");
  exec(db.url(), "UPDATE cases SET legal_hold = true WHERE id = " + std::to_string(case_b));

  // `hashguard cases purge` (serve's own purge is off here: interval 0).
  const auto out_file = tmp.path / "purge.out";
  const std::string cmd = std::string(HG_HASHGUARD_BIN) + " cases purge --database.url='" +
                          db.url() + "' > " + out_file.string() + " 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);  // NOLINT: test-only shell
  const std::string printed = file_bytes(out_file.string());
  INFO(printed);
  CHECK(printed.find("evidence files purged: 1") != std::string::npos);
  CHECK(printed.find("evidence kept (legal hold): 1 " + std::to_string(case_b)) !=
        std::string::npos);
  CHECK(count(db.url(),
              "SELECT count(*) FROM evidence WHERE case_id = " + std::to_string(case_a)) == 0);
  CHECK(count(db.url(),
              "SELECT count(*) FROM evidence WHERE case_id = " + std::to_string(case_b)) == 1);
  CHECK(has_audit(audit_entries(port), "evidence.purge", subject_a));

  // Everything handed over was preserved: nothing pending, nothing lost.
  auto metrics = fetch(port, "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("hg_evidence_pending_bytes 0") != std::string::npos);
  CHECK(metrics->body.find("hg_evidence_lost_total 0") != std::string::npos);

  CHECK(srv.stop(SIGTERM).code == 0);
}

TEST_CASE("serve: the periodic purge deletes expired evidence and keeps a held case's") {
  test_database db;
  temp_dir tmp("hg-serve-review-purge");
  serve_process srv(serve_args(db.url(), tmp.path, 1));
  const auto port = srv.port();
  const std::string image = file_bytes(match_image);
  make_list(port, image);
  const auto a = scan(port, image, "zone-a.test", "p-1");
  const auto b = scan(port, image, "zone-b.test", "p-2");
  const auto case_a = case_of_event(db.url(), std::string(a.at("event_id").as_string()));
  const auto case_b = case_of_event(db.url(), std::string(b.at("event_id").as_string()));
  REQUIRE(wait_evidence(db.url(), case_a, 1));
  REQUIRE(wait_evidence(db.url(), case_b, 1));
  exec(db.url(),
       "UPDATE cases SET preserve_until = now() - interval '1 day', legal_hold ="
       " (id = " +
           std::to_string(case_b) + ") WHERE id IN (" + std::to_string(case_a) + ", " +
           std::to_string(case_b) + ")");
  // Purged within a few intervals of 1 s.
  CHECK(wait_evidence(db.url(), case_a, 0));
  CHECK(count(db.url(),
              "SELECT count(*) FROM evidence WHERE case_id = " + std::to_string(case_b)) == 1);
  CHECK(count(db.url(),
              "SELECT count(*) FROM audit_log WHERE action = 'evidence.purge'"
              " AND subject = 'case:" +
                  std::to_string(case_a) + "'") == 1);
  CHECK(srv.stop(SIGTERM).code == 0);
  CHECK(srv.err_text().find("evidence purge: 1 files purged, 1 cases held") != std::string::npos);
}

TEST_CASE("serve: a large export arrives complete and hashes to its custody record") {
  test_database db;
  temp_dir tmp("hg-serve-review-export");
  // About 9 MB of CSV: 4000 events with long URLs, recorded through the case store.
  constexpr int n = 4000;
  {
    pqxx::connection pc(db.url());
    pqxx::work tx(pc);
    const auto list = tx.exec1(
                            "INSERT INTO hash_lists (name, source, signal, threshold, action)"
                            " VALUES ('bulk', 'synthetic', 'pdq', 31, 'block') RETURNING id")[0]
                          .as<std::int64_t>();
    tx.exec_params0("INSERT INTO hashes (list_id, value, external_id) VALUES ($1, $2, 'E-1')", list,
                    pqxx::binarystring(std::string(32, '\x11')));
    tx.commit();
  }
  std::int64_t list_id = count(db.url(), "SELECT id FROM hash_lists");
  std::int64_t entry_id = count(db.url(), "SELECT id FROM hashes");
  {
    auto conn = db.connect();
    hashguard::hashdb::case_store store(conn, {});
    std::vector<hashguard::hashdb::match_event> events;
    const std::int64_t t0 = hashguard::hashdb::now_us() - 3'600'000'000;
    for (int i = 0; i < n; ++i) {
      hashguard::hashdb::match_event e;
      e.id = hashguard::hashdb::new_uuid();
      e.occurred_us = t0 + i;
      e.zone = "zone-" + std::to_string(i % 7) + ".test";
      e.source_url = "https://" + e.zone + "/" + std::string(2000, static_cast<char>('a' + i % 26));
      e.sha256 = sha256_hex(std::to_string(i));
      e.act = hashguard::core::action::block;
      hashguard::hashdb::event_hit h;
      h.list_id = list_id;
      h.entry_id = entry_id;
      h.sig = hashguard::core::signal::sha256;
      h.threshold = 0;
      h.list_version = 1;
      h.act = hashguard::core::action::block;
      e.hits.push_back(h);
      events.push_back(std::move(e));
    }
    for (std::size_t at = 0; at < events.size(); at += 500) {
      const auto len = std::min<std::size_t>(500, events.size() - at);
      auto r = store.record_batch(std::span(events).subspan(at, len));
      REQUIRE(r.has_value());
    }
  }

  serve_process srv(serve_args(db.url(), tmp.path, 0));
  const auto port = srv.port();
  auto r = request(port, "GET", "/v1/exports/events?from=2000-01-01&to=2100-01-01&format=csv",
                   compliance, std::nullopt, {}, 60000ms);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->body.size() > 8'000'000);
  // Sent with its length (a file-backed body), and every byte of it arrived.
  CHECK(r->header("content-length") == std::to_string(r->body.size()));
  CHECK(std::count(r->body.begin(), r->body.end(), '\n') == n + 1);
  const std::string digest = sha256_hex(r->body);
  CHECK(r->header("x-export-sha256") == digest);
  // The custody record holds the hash and the size of exactly these bytes.
  const auto audit = audit_entries(port);
  const auto custody = std::find_if(audit.begin(), audit.end(), [](const json::value& e) {
    return e.at("action").as_string() == "export";
  });
  REQUIRE(custody != audit.end());
  CHECK(custody->at("id").as_int64() ==
        hashguard::core::parse_int<std::int64_t>(r->header("x-export-audit-id")).value());
  const auto d = json::parse(custody->at("detail").as_string());
  CHECK(d.at("sha256").as_string() == digest);
  CHECK(d.at("bytes").to_number<std::uint64_t>() == r->body.size());
  CHECK(d.at("items").to_number<std::uint64_t>() == n);

  // JSON too, on a kept-alive connection after a large body.
  auto j = request(port, "GET", "/v1/exports/events?from=2000-01-01&to=2100-01-01&format=json",
                   compliance, std::nullopt, {}, 60000ms);
  REQUIRE(j);
  REQUIRE(j->status == 200);
  CHECK(json::parse(j->body).as_array().size() == static_cast<std::size_t>(n));
  CHECK(j->header("x-export-sha256") == sha256_hex(j->body));
  // Nothing is left behind in the spill directory (the files are unlinked).
  CHECK(std::filesystem::is_empty(tmp.path / "data" / "exports"));
  CHECK(srv.stop(SIGTERM).code == 0);
}

TEST_CASE("serve: the published audit head catches the log's newest rows cut off") {
  test_database db;
  const temp_dir dir("hg-audit-head");
  auto args = serve_args(db.url(), dir.path, 0);
  args.push_back("--audit.publish_interval_s=1");
  serve_process srv(args);
  const auto head_file = dir.path / "data" / "audit-head.json";
  const auto key_file = dir.path / "data" / "audit.key";
  // No key configured: serve generated one, private to its user, and said so.
  REQUIRE(std::filesystem::exists(key_file));
  CHECK((std::filesystem::status(key_file).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  CHECK(srv.err_text().find("generated one in " + key_file.string()) != std::string::npos);

  make_list(srv.port(), file_bytes(match_image));  // audited: list.create, list.import
  const auto newest = count(db.url(), "SELECT max(id) FROM audit_log");
  REQUIRE(eventually(
      [&] {
        return std::filesystem::exists(head_file) &&
               file_bytes(head_file.string()).find("\"id\":" + std::to_string(newest)) !=
                   std::string::npos;
      },
      30s));
  CHECK((std::filesystem::status(head_file).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  CHECK(eventually(
      [&] {
        return srv.err_text().find("audit head " + std::to_string(newest)) != std::string::npos;
      },
      10s));

  const std::vector<std::string> verify{"audit", "verify", "--json", "--database-url=" + db.url(),
                                        "--data-dir=" + (dir.path / "data").string()};
  auto [intact_status, intact] = hg_sys::run_cli(verify);
  INFO(intact);
  CHECK(intact_status == 0);
  CHECK(json::parse(intact).at("published_head").at("id").as_int64() == newest);

  // Someone who can bypass the trigger cuts the newest rows: the shorter chain is valid, the
  // published head is not in it.
  exec(db.url(),
       "SET LOCAL session_replication_role = replica; DELETE FROM audit_log WHERE id >= " +
           std::to_string(newest));
  // serve notices at its next publication and keeps the head file as it was.
  CHECK(eventually(
      [&] { return srv.err_text().find("task audit_head failed") != std::string::npos; }, 10s));
  CHECK(file_bytes(head_file.string()).find("\"id\":" + std::to_string(newest)) !=
        std::string::npos);
  auto [cut_status, cut] = hg_sys::run_cli(verify);
  INFO(cut);
  CHECK(cut_status == 1);
  CHECK(json::parse(cut).at("problem").as_string() == "truncated");
  auto http = request(srv.port(), "GET", "/v1/audit/verify", compliance);
  REQUIRE(http);
  REQUIRE(http->status == 200);
  CHECK_FALSE(json_of(*http).at("ok").as_bool());
  CHECK(json_of(*http).at("problem").as_string() == "truncated");
}
