// An exchange sync survives SIGKILL (issue 18): `hashguard serve` follows the fake NCMEC server
// (3,000 entries, 100 a page, each page a little slow) and is killed three times while the sync
// is under way (after a page was applied, at a random point after it); between kills the source
// deletes, changes and adds entries. Started once more, the node runs the sync to its end, and
// the list equals the source exactly: each live entry once with its current value, the deleted
// ones gone, and the node's snapshot matches the changed values. (exchange_bench does the same
// with 20 kills of a 200,000-entry sync.)
#include "hg_pg.hpp"
#include "ncmec_fake.hpp"
#include "system_support.hpp"

#include <pqxx/pqxx>

#include <fstream>
#include <map>
#include <random>

using namespace hg_sys;

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("exchanges: SIGKILL mid-sync three times, the list still equals the source") {
  hg_test::test_database db;
  sys_dir dir("xcrash");
  const std::string ingest = "system-ingest-key-xcrash-0123456789a";

  constexpr std::uint64_t generated = 3000;
  hg_fakes::ncmec_fake fake("esp-user", "ncmec-pa55");
  hg_test::fake_http_server server([&](const hg_test::fake_request& r) { return fake.handle(r); });
  const std::int64_t first = unix_now() - static_cast<std::int64_t>(generated) - 600;
  fake.generate(generated, first, 1);
  fake.set_generated_md5(false);
  hg_fakes::knobs k;
  k.page_size = 100;
  k.delay = 40ms;  // 30 pages of at least 40 ms: kills land inside the sync
  fake.set_knobs(k);

  // What the list must hold at the end: source id -> value.
  std::map<std::string, std::string> live;
  for (std::uint64_t i = 0; i < generated; ++i) {
    live["1-g" + std::to_string(i)] = hg_fakes::generated_hex(i, 64);
  }
  {
    std::ofstream(dir.path / "ncmec.secret") << "ncmec-pa55\n";
    std::ofstream conf(dir.path / "exchanges.conf");
    conf << "[exchange ncmec-crash]\nkind = ncmec\ncredential_file = "
         << (dir.path / "ncmec.secret").string() << "\nsetting.base_url = " << server.base_url()
         << "\nsetting.username = esp-user\nsetting.start_time = " << first
         << "\nsetting.settle_s = 1\ninterval_s = 1\nfeed.pdq = crash-pdq threshold=31\n";
  }
  const auto argv = serve_command(
      {"--database-url=" + db.url(), "--data-dir=" + (dir.path / "node").string(),
       "--node-name=crash", "--auth-keys=ingest:" + ingest, "--snapshot-poll-ms=200",
       "--http-log-requests=false", "--exchanges-file=" + (dir.path / "exchanges.conf").string()});

  pqxx::connection pc(db.url());
  auto state = [&] {
    const auto r = pqxx::nontransaction(pc).exec(
        "SELECT pages, last_success_at IS NOT NULL FROM exchanges WHERE name = 'ncmec-crash'");
    return r.empty() ? std::pair<std::int64_t, bool>{0, false}
                     : std::pair{r[0][0].as<std::int64_t>(), r[0][1].as<bool>()};
  };

  const auto seed = std::random_device{}();
  UNSCOPED_INFO("kill points seed " << seed);  // a failure says which points it took
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> extra_ms(0, 300);
  int mid_sync_kills = 0;
  for (std::uint64_t kill = 0; kill < 3; ++kill) {
    const auto before = state().first;
    {
      serve_process node(argv);
      REQUIRE(eventually([&] { return state().first > before || state().second; }, 60s, 10ms));
      std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms(rng)));
      node.signal(SIGKILL);
      (void)node.wait();
    }
    const auto [after, caught_up] = state();
    INFO("kill " << kill << ": pages " << before << " -> " << after);
    if (after > before && !caught_up) ++mid_sync_kills;
    // The source changes while the sync is down: a deletion, a new value and a new entry.
    const std::int64_t at = unix_now();
    const std::string gone = "g" + std::to_string(kill * 7);
    const std::string changed = "g" + std::to_string(2000 + kill);
    const std::string added = "new-" + std::to_string(kill);
    fake.remove(1, gone, at);
    live.erase("1-" + gone);
    const auto changed_value = hg_fakes::generated_hex(900000 + kill, 64);
    const auto added_value = hg_fakes::generated_hex(800000 + kill, 64);
    fake.upsert({{1, changed, at, false, false, "A1", {{"pdq", changed_value}}, {}},
                 {1, added, at, false, false, "A1", {{"pdq", added_value}}, {}}});
    live["1-" + changed] = changed_value;
    live["1-" + added] = added_value;
  }
  CHECK(mid_sync_kills >= 2);  // the kills landed inside the sync, not after it

  // Once more, to the end.
  serve_process node(argv);
  auto snapshot_pdq = [&] {
    auto r = call(node.port(), "GET", "/metrics", {});
    return r ? hg_test::metric_value(r->body, R"(hg_snapshot_entries{signal="pdq"})")
             : std::nullopt;
  };
  // Matching follows the list: the last changed value matches, the last deleted entry's old
  // value does not (kill 2's changes keep the count, so the count alone says nothing).
  auto matches = [&](const std::string& pdq) {
    auto r = call(node.port(), "POST", "/v1/match", ingest, R"({"pdq":")" + pdq + R"("})",
                  {{"Content-Type", "application/json"}});
    return r && r->status == 200 && !parse(*r).at("hits").as_array().empty();
  };
  CHECK(eventually(
      [&] {
        return snapshot_pdq() == static_cast<double>(live.size()) &&
               matches(hg_fakes::generated_hex(900002, 64)) &&
               !matches(hg_fakes::generated_hex(14, 64));  // g14 was deleted (kill 2)
      },
      120s, 50ms));

  std::map<std::string, std::string> listed;
  int doubled = 0;
  for (const auto& row : pqxx::nontransaction(pc).exec(
           "SELECT h.source_id, encode(h.value, 'hex') FROM hashes h"
           " JOIN hash_lists l ON l.id = h.list_id WHERE l.name = 'crash-pdq'")) {
    if (!listed.emplace(row[0].as<std::string>(), row[1].as<std::string>()).second) ++doubled;
  }
  CHECK(doubled == 0);
  CHECK(listed.size() == live.size());
  CHECK(listed == live);  // nothing lost, nothing extra, every value current
}
