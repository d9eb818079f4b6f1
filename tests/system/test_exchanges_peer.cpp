// Another hashguard as an exchange (issue 18), over real sockets: node A (its own database)
// serves a list's change feed to a key of role exchange; node B (another database) follows it
// with a `hashguard` exchange. An entry A holds matches on B; once A retires it, B deletes it;
// a list A's NCMEC exchange feeds is refused (reshare off) and B's exchange says why. The
// exchange key can do nothing else on A. B's admin routes show each exchange's state and
// start a sync now (audited).
#include "hg_pg.hpp"
#include "system_support.hpp"

#include "hashguard/hashdb/exchange_store.hpp"

#include <pqxx/pqxx>

#include <fstream>

using namespace hg_sys;

TEST_CASE("exchanges: a hashguard follows another's list, with retirement and reshare refusal") {
  hg_test::test_database db_a;
  hg_test::test_database db_b;
  sys_dir dir("peer");
  const std::string ingest = "system-ingest-key-peer-0123456789abcd";
  const std::string admin = "system-admin-key-peer-0123456789abcde";
  const auto json_ct = header_list{{"Content-Type", "application/json"}};

  serve_process a(serve_command(
      {"--database-url=" + db_a.url(), "--data-dir=" + (dir.path / "node-a").string(),
       "--node-name=node-a", "--auth-keys=ingest:" + ingest, "--auth-bootstrap-key=" + admin,
       "--snapshot-poll-ms=300", "--http-log-requests=false"}));

  // On A: a list with the image's PDQ and an unrelated entry, and a list an NCMEC exchange
  // feeds (its terms forbid resharing: the feed refuses it).
  const std::string image =
      file_bytes(test_data + "/pdq-vectors/images/reg-test-input/labelme-subset/q1050.jpg");
  const std::string pdq = pdq_of(a.port(), ingest, image);
  make_list(a.port(), admin, "partner-pdq", {pdq, std::string(64, 'a')});
  make_list(a.port(), admin, "private-pdq", {std::string(64, 'b')});
  {
    auto c = db_a.connect();
    hashguard::hashdb::exchange_spec nc;
    nc.name = "ncmec";
    nc.kind = "ncmec";
    nc.feeds.push_back(
        {hashguard::core::signal::pdq, "nc-pdq", 31, hashguard::core::action::review});
    REQUIRE(hashguard::hashdb::exchange_store(c).register_exchange(nc).has_value());
  }

  // A key of role exchange scoped to two lists.
  auto made =
      call(a.port(), "POST", "/v1/keys", admin,
           R"({"name":"node-b","role":"exchange","lists":["partner-pdq","nc-pdq"]})", json_ct);
  REQUIRE(made);
  INFO(made->body);
  REQUIRE(made->status == 201);
  const std::string peer_key = std::string(parse(*made).at("secret").as_string());
  CHECK(parse(*made).at("lists").as_array().size() == 2);
  auto no_lists =
      call(a.port(), "POST", "/v1/keys", admin, R"({"name":"x","role":"exchange"})", json_ct);
  REQUIRE(no_lists);
  CHECK(no_lists->status == 422);

  // What the exchange key may do on A: its lists' feed, nothing else.
  auto feed = [&](const std::string& list) {
    return call(a.port(), "GET", "/v1/lists/" + list + "/changes?since=0&limit=10", peer_key);
  };
  CHECK(eventually(
      [&] {
        auto r = feed("partner-pdq");
        return r && r->status == 200;
      },
      30s));
  auto first = feed("partner-pdq");
  REQUIRE(first);
  REQUIRE(first->status == 200);
  const auto changes = parse(*first).at("changes").as_array();
  REQUIRE(changes.size() == 2);
  std::int64_t entry = 0;
  for (const auto& ch : changes) {
    if (ch.at("value").as_string() == pdq) entry = ch.at("entry").as_int64();
  }
  REQUIRE(entry > 0);
  CHECK(feed("private-pdq")->status == 404);  // outside the key's scope
  CHECK(feed("no-such-list")->status == 404);
  auto refused = feed("nc-pdq");
  CHECK(refused->status == 403);
  CHECK(refused->body.find("reshare") != std::string::npos);
  CHECK(call(a.port(), "GET", "/v1/lists", peer_key)->status == 403);
  CHECK(call(a.port(), "POST", "/v1/match", peer_key, R"({"pdq":")" + pdq + R"("})", json_ct)
            ->status == 403);
  CHECK(call(a.port(), "GET", "/v1/lists/partner-pdq/changes?since=bogus", peer_key)->status ==
        400);
  CHECK(call(a.port(), "GET", "/v1/lists/partner-pdq/changes", admin)->status == 403);

  // B follows both lists (pages of one entry: several pages per sync).
  {
    std::ofstream(dir.path / "peer.key") << peer_key << "\n";
    std::ofstream conf(dir.path / "exchanges.conf");
    const std::string common =
        "kind = hashguard\nurl = http://127.0.0.1:" + std::to_string(a.port()) +
        "\ncredential_file = " + (dir.path / "peer.key").string() + "\ninterval_s = 1\n";
    conf << "[exchange partner]\n"
         << common << "feed.pdq = follow-pdq threshold=31 action=review\n"
         << "setting.list = partner-pdq\nsetting.page_size = 1\n"
         << "[exchange partner-nc]\n"
         << common << "feed.pdq = follow-nc threshold=31 action=review\nsetting.list = nc-pdq\n";
  }
  serve_process b(serve_command(
      {"--database-url=" + db_b.url(), "--data-dir=" + (dir.path / "node-b").string(),
       "--node-name=node-b", "--auth-keys=ingest:" + ingest, "--auth-bootstrap-key=" + admin,
       "--snapshot-poll-ms=300", "--http-log-requests=false",
       "--exchanges-file=" + (dir.path / "exchanges.conf").string()}));
  const std::string match_body = R"({"pdq":")" + pdq + R"("})";
  auto matches_on_b = [&] {
    auto r = call(b.port(), "POST", "/v1/match", ingest, match_body, json_ct);
    return r && r->status == 200 && !parse(*r).at("hits").as_array().empty();
  };
  CHECK(eventually(matches_on_b, 60s, 200ms));
  pqxx::connection pc(db_b.url());
  CHECK(pqxx::nontransaction(pc)
            .exec1("SELECT count(*) FROM hashes h JOIN hash_lists l ON l.id = h.list_id"
                   " WHERE l.name = 'follow-pdq' AND h.source_id = '" +
                   std::to_string(entry) + "'")[0]
            .as<int>() == 1);

  // A retires the entry: B deletes it and stops matching.
  auto off =
      call(a.port(), "POST", "/v1/lists/partner-pdq/entries/" + std::to_string(entry) + "/disable",
           admin, R"({"reason":"wrong entry"})", json_ct);
  REQUIRE(off);
  CHECK(off->status == 200);
  CHECK(eventually([&] { return !matches_on_b(); }, 60s, 200ms));
  CHECK(pqxx::nontransaction(pc)
            .exec1("SELECT count(*) FROM hashes h JOIN hash_lists l ON l.id = h.list_id"
                   " WHERE l.name = 'follow-pdq'")[0]
            .as<int>() == 1);

  // B's admin routes: each exchange's state; the refused one says why.
  auto state_of = [&](const std::string& name) {
    auto r = call(b.port(), "GET", "/v1/exchanges/" + name, admin);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return parse(*r).as_object();
  };
  CHECK(eventually([&] { return state_of("partner").at("entries").as_int64() == 1; }, 30s));
  CHECK(eventually(
      [&] {
        const auto x = state_of("partner-nc");
        return x.at("state").as_string() == "failing" &&
               std::string(x.at("last_error").as_string()).find("reshare") != std::string::npos;
      },
      30s, 200ms));
  auto all = call(b.port(), "GET", "/v1/exchanges", admin);
  REQUIRE(all);
  REQUIRE(all->status == 200);
  const auto listed = parse(*all).at("exchanges").as_array();
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].at("name").as_string() == "partner");
  CHECK(listed[0].at("kind").as_string() == "hashguard");
  CHECK(listed[0].at("lag_s").is_int64());
  CHECK(listed[1].at("failures").as_int64() >= 1);
  CHECK(call(b.port(), "GET", "/v1/exchanges/nope", admin)->status == 404);
  CHECK(call(b.port(), "GET", "/v1/exchanges", ingest)->status == 403);

  auto sync = call(b.port(), "POST", "/v1/exchanges/partner/sync", admin);
  REQUIRE(sync);
  CHECK(sync->status == 202);
  CHECK(call(b.port(), "POST", "/v1/exchanges/nope/sync", admin)->status == 404);
  CHECK(pqxx::nontransaction(pc)
            .exec1("SELECT count(*) FROM audit_log WHERE action = 'exchange.sync'"
                   " AND subject = 'exchange:partner'")[0]
            .as<int>() == 1);
  // A node without exchanges cannot sync one it does not run.
  CHECK(call(a.port(), "POST", "/v1/exchanges/ncmec/sync", admin)->status == 409);
}
