// Seeds a fresh database for the browser tests and prints what it made as one JSON line.
//
//   hg_review_seed SERVER_URL DB_NAME EVIDENCE_KEY_HEX IMAGE
//
// Creates DB_NAME on the fixture's server, migrates it, creates two synthetic hash lists, and
// records match events through the case store's record path (POST /v1/scan is not wired into
// `hashguard serve` on this branch): a case needing two confirmations (two-person rule) with
// preserved evidence (IMAGE, a synthetic test image, sealed under the key), a case whose zone
// and URL hold script markup, and a few ordinary cases for the queue.
#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/evidence.hpp"
#include "hashguard/hashdb/migrations.hpp"

#include <pqxx/pqxx>

#include <fstream>
#include <iostream>
#include <sstream>

using namespace hashguard;

namespace {

std::string hex_n(std::uint64_t v, std::size_t digits) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out(digits, '0');
  for (std::size_t i = 0; i < digits && v != 0; ++i, v >>= 4) out[digits - 1 - i] = d[v & 15];
  return out;
}

hashdb::match_event make(std::string zone, std::string url, std::int64_t list, std::int64_t entry,
                         std::uint64_t content, std::int64_t at_us, int distance) {
  hashdb::match_event e;
  e.zone = std::move(zone);
  e.source_url = std::move(url);
  e.node = "node-1";
  e.request_id = "req-" + std::to_string(content) + "-" + std::to_string(at_us);
  e.occurred_us = at_us;
  e.sha256 = hex_n(content * 0x9e3779b97f4a7c15ULL, 64);
  e.sha1 = hex_n(content * 31 + 7, 40);
  e.md5 = hex_n(content * 17 + 3, 32);
  e.pdq = hex_n(content * 0x2545f4914f6cdd1dULL, 64);
  e.pdq_quality = 92;
  e.act = core::action::block;
  hashdb::event_hit h;
  h.list_id = list;
  h.entry_id = entry;
  h.sig = core::signal::pdq;
  h.distance = distance;
  h.threshold = 31;
  h.list_version = 4;
  h.act = core::action::block;
  h.variant = core::dihedral::original;
  e.hits.push_back(h);
  return e;
}

int fail(const std::string& what, const std::string& detail = {}) {
  std::cerr << "hg_review_seed: " << what << " " << detail << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return fail("usage: hg_review_seed SERVER_URL DB_NAME KEY_HEX IMAGE");
  const std::string server = argv[1];
  const std::string name = argv[2];
  auto key = hashdb::parse_evidence_key("k1", argv[3]);
  if (!key) return fail("bad key");
  std::ifstream img(argv[4], std::ios::binary);
  std::stringstream image;
  image << img.rdbuf();
  if (!img || image.str().empty()) return fail("cannot read", argv[4]);

  (void)hashdb::drop_database(server, name);
  if (!hashdb::create_database(server, name)) return fail("create database failed");
  const std::string url = hashdb::url_with_database(server, name);
  auto conn = hashdb::connection::open(url);
  if (!conn) return fail("connect failed");
  if (!hashdb::migrate(*conn)) return fail("migrate failed", conn->last_error());

  std::int64_t list_a = 0, list_b = 0, e1 = 0, e2 = 0, e3 = 0;
  {
    pqxx::connection pc(url);
    pqxx::work tx(pc);
    list_a = tx.exec1(
                   "INSERT INTO hash_lists (name, source, signal, threshold, action)"
                   " VALUES ('industry-pdq', 'synthetic', 'pdq', 31, 'block') RETURNING id")[0]
                 .as<std::int64_t>();
    list_b = tx.exec1(
                   "INSERT INTO hash_lists (name, source, signal, threshold, action)"
                   " VALUES ('internal-pdq', 'internal', 'pdq', 24, 'review') RETURNING id")[0]
                 .as<std::int64_t>();
    auto entry = [&](std::int64_t list, int n) {
      return tx
          .exec_params1(
              "INSERT INTO hashes (list_id, value, external_id) VALUES"
              " ($1, decode($2, 'hex'), $3) RETURNING id",
              list, hex_n(static_cast<std::uint64_t>(n), 64), "SYN-" + std::to_string(n))[0]
          .as<std::int64_t>();
    };
    e1 = entry(list_a, 1);
    e2 = entry(list_a, 2);
    e3 = entry(list_b, 3);
    tx.commit();
  }

  const std::int64_t now = hashdb::now_us();
  const std::int64_t hour = 3'600'000'000;
  // Ordinary cases first (lower ids), then the ones the test drives.
  hashdb::case_store one(*conn, {});
  const char* zones[] = {"photos.example.org", "cdn.example.net", "forum.example.com"};
  for (std::uint64_t i = 0; i < 3; ++i) {
    auto r = one.record(make(
        zones[i], "https://" + std::string(zones[i]) + "/img/" + std::to_string(100 + i) + ".jpg",
        list_b, e3, 100 + i, now - static_cast<std::int64_t>(5 - i) * hour,
        12 + static_cast<int>(i)));
    if (!r) return fail("record failed", conn->last_error());
  }
  const std::string xss_zone = "<script>window.__xss=1</script>zone.example";
  const std::string xss_url =
      "https://evil.example/<script>window.__xss=2</script><img src=x "
      "onerror=\"window.__xss=3\">.jpg";
  auto xss = one.record(make(xss_zone, xss_url, list_a, e2, 200, now - 2 * hour, 9));
  if (!xss) return fail("record failed", conn->last_error());

  hashdb::case_options two_person;
  two_person.required_confirmations = 2;
  hashdb::case_store two(*conn, two_person);
  auto a1 = two.record(
      make("shop.example", "https://shop.example/p/1.png", list_a, e1, 300, now - hour, 6));
  auto a2 = two.record(make("shop.example", "https://static.shop.example/p/1.png", list_a, e1, 300,
                            now - hour / 2, 6));
  if (!a1 || !a2) return fail("record failed", conn->last_error());
  const auto case_a = *a1->case_id;
  const std::string content_a = hex_n(300 * 0x9e3779b97f4a7c15ULL, 64);
  hashdb::evidence_store ev(*conn, *key);
  if (!ev.preserve(case_a, content_a, image.str(), "image/png", "node-1")) {
    return fail("preserve failed", conn->last_error());
  }

  std::cout << "{\"url\":\"" << url << "\",\"case_a\":" << case_a
            << ",\"case_xss\":" << *xss->case_id << ",\"content_a\":\"" << content_a
            << "\",\"list_a\":" << list_a << "}" << std::endl;
  return 0;
}
