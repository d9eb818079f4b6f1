// An NCMEC exchange end to end (issue 18): `hashguard serve` follows the fake NCMEC server on a
// local port through the exchanges file. Its entries sync into a list, a scan of an image whose
// PDQ the fake lists matches, a deletion at the fake removes the match after the next sync, and
// a malformed page stops the sync with the reason in the exchange state and
// `hashguard exchanges status`.
#include "hg_pg.hpp"
#include "ncmec_fake.hpp"
#include "system_support.hpp"

#include <pqxx/pqxx>

#include <fstream>

using namespace hg_sys;

TEST_CASE("exchanges: serve follows a fake NCMEC server: sync, match, deletion, malformed page") {
  hg_test::test_database db;
  sys_dir dir("ncmec");
  const std::string ingest = "system-ingest-key-ncmec-0123456789ab";
  const std::string admin = "system-admin-key-ncmec-0123456789abc";

  hg_fakes::ncmec_fake fake("esp-user", "ncmec-pa55");
  hg_test::fake_http_server server([&](const hg_test::fake_request& r) { return fake.handle(r); });
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();

  {
    std::ofstream(dir.path / "ncmec.secret") << "ncmec-pa55\n";
    std::ofstream conf(dir.path / "exchanges.conf");
    conf << "[exchange ncmec-fake]\nkind = ncmec\ncredential_file = "
         << (dir.path / "ncmec.secret").string() << "\nsetting.base_url = " << server.base_url()
         << "\nsetting.username = esp-user\nsetting.start_time = " << now - 3600
         << "\ninterval_s = 1\nfeed.pdq = ncmec-pdq threshold=31 action=review\n";
  }
  const std::vector<std::string> args{"--database-url=" + db.url(),
                                      "--data-dir=" + (dir.path / "node").string(),
                                      "--auth-keys=ingest:" + ingest,
                                      "--auth-bootstrap-key=" + admin,
                                      "--snapshot-poll-ms=300",
                                      "--http-log-requests=false",
                                      "--exchanges-file=" + (dir.path / "exchanges.conf").string()};
  serve_process node(serve_command(args));

  const std::string image =
      file_bytes(test_data + "/pdq-vectors/images/reg-test-input/labelme-subset/q1050.jpg");
  const std::string pdq = pdq_of(node.port(), ingest, image);
  auto scan_hits = [&] {
    auto r = call(node.port(), "POST", "/v1/scan", ingest, image);
    if (!r || r->status != 200) return std::size_t{9999};
    return parse(*r).at("hits").as_array().size();
  };
  CHECK(scan_hits() == 0);

  // Two entries added now, as NCMEC stamps them (an entry back-dated before windows that
  // syncs already exhausted would never be fetched, here as at NCMEC): the image's PDQ and an
  // unrelated one.
  const auto added_at = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  fake.upsert({{1, "img-1", added_at, false, false, "A1", {{"pdq", pdq}}, {}},
               {1, "img-2", added_at, false, false, "A1", {{"pdq", std::string(64, 'a')}}, {}}});
  CHECK(eventually([&] { return scan_hits() == 1; }, 60s, 200ms));
  pqxx::connection pc(db.url());
  CHECK(pqxx::nontransaction(pc)
            .exec1("SELECT count(*) FROM hashes h JOIN hash_lists l ON l.id = h.list_id "
                   "WHERE l.name = 'ncmec-pdq'")[0]
            .as<int>() == 2);

  // A deletion at the fake (now: the next windows reach it once it settles).
  const auto deleted_at = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  fake.remove(1, "img-1", deleted_at);
  CHECK(eventually([&] { return scan_hits() == 0; }, 60s, 200ms));

  // Every page malformed from now on: the sync stops with the reason in the exchange state.
  hg_fakes::knobs k;
  k.malformed_next = 1000000;
  fake.set_knobs(k);
  fake.upsert({{1, "img-3", deleted_at + 1, false, false, "A1", {{"pdq", pdq}}, {}}});
  auto last_error = [&] {
    return pqxx::nontransaction(pc)
        .exec1("SELECT last_error FROM exchanges WHERE name = 'ncmec-fake'")[0]
        .as<std::string>();
  };
  CHECK(eventually([&] { return last_error().find("bad_page") != std::string::npos; }, 60s, 200ms));
  CHECK(scan_hits() == 0);  // nothing of the bad page applied
  const auto [code, out] = run_cli({"exchanges", "status", "--database-url=" + db.url(),
                                    "--exchanges-file=" + (dir.path / "exchanges.conf").string()});
  CHECK(code == 0);
  INFO(out);
  CHECK(out.find("ncmec-fake") != std::string::npos);
  CHECK(out.find("error=bad_page") != std::string::npos);
}
