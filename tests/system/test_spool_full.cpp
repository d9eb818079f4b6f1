// The spool's disk full while the database is down (issue 8, fault tests): the service answers
// 503 with Retry-After and the standard error shape rather than claim a record it did not keep,
// /readyz says not ready while the spool cannot be written, and both recover when space
// returns; what was answered reaches the database once it is back, what was refused does not.
//
// "Full" is the serve process's file-size limit (RLIMIT_FSIZE, set on the running child with
// prlimit(2), which needs no privilege for one's own processes): every write that would grow a
// file fails with EFBIG, as a full filesystem fails it with ENOSPC; serve ignores SIGXFSZ.
// Lifting the limit is the space coming back.
#include "system_support.hpp"

#include <pqxx/pqxx>

using namespace hg_sys;

namespace {

int readyz(std::uint16_t port) {
  auto r = call(port, "GET", "/readyz", {});
  return r ? r->status : 0;
}

}  // namespace

TEST_CASE("fault: a full spool with the database down answers 503, never a phantom event") {
  sys_dir dir("spoolfull");
  private_pg pg(dir.path / "pg");
  const std::string ingest = "system-ingest-key-spoolfull-01234567";
  const std::string admin = "system-admin-key-spoolfull-012345678";
  serve_process node(serve_command(
      {"--database-url=" + pg.url(), "--data-dir=" + (dir.path / "node").string(),
       "--auth-keys=ingest:" + ingest, "--auth-bootstrap-key=" + admin, "--snapshot-poll-ms=200",
       "--auth-refresh-ms=200", "--database-commit-deadline-ms=200", "--http-retry-after-s=3"}));
  REQUIRE(eventually([&] { return readyz(node.port()) == 200; }, 120s));

  const std::string image =
      file_bytes(test_data + "/pdq-vectors/images/reg-test-input/labelme-subset/q0122.jpg");
  make_list(node.port(), admin, "spoolfull", {pdq_of(node.port(), ingest, image)});
  REQUIRE(wait_pdq_entries(node.port(), admin, 1));

  auto scan = [&](const std::string& request_id) {
    auto r = call(node.port(), "POST", "/v1/scan", ingest, image,
                  {{"X-Zone", "zone-full"}, {"X-Request-Id", request_id}});
    REQUIRE(r);
    return *r;
  };

  // The database goes down: matches are spooled.
  pg.stop();
  const auto first = scan("full-1");
  INFO(first.body);
  REQUIRE(first.status == 200);
  CHECK(parse(first).at("durability").as_string() == "spooled");
  const std::string first_id(parse(first).at("event_id").as_string());

  // The spool can no longer grow.
  REQUIRE(node.limit_file_size(1));
  const auto refused = scan("full-2");
  INFO(refused.body);
  CHECK(refused.status == 503);
  CHECK(refused.header("retry-after") == "3");
  const auto rv = parse(refused);
  CHECK(rv.at("error").at("code").as_string() == "spool_full");
  CHECK_FALSE(rv.at("error").at("message").as_string().empty());
  CHECK(rv.as_object().if_contains("event_id") == nullptr);
  // The cache layer retries the same request: still refused, not the id of an event that was
  // never kept.
  const auto retried = scan("full-2");
  CHECK(retried.status == 503);
  const auto never = scan("full-never");  // refused and never retried
  CHECK(never.status == 503);
  // Readiness follows within its probe interval (1 s); the process is alive, not killed by
  // SIGXFSZ, and still answers what needs no spool.
  CHECK(eventually([&] { return readyz(node.port()) == 503; }, 30s));
  auto ready_body = call(node.port(), "GET", "/readyz", {});
  REQUIRE(ready_body);
  INFO(ready_body->body);
  CHECK(ready_body->body.find("spool") != std::string::npos);
  CHECK(node.alive());
  auto hashed = call(node.port(), "POST", "/v1/hash", ingest, image);
  REQUIRE(hashed);
  CHECK(hashed->status == 200);

  // Space returns: ready again, and the refused request goes through.
  REQUIRE(node.limit_file_size(std::nullopt));
  CHECK(eventually([&] { return readyz(node.port()) == 200; }, 30s));
  const auto recovered = scan("full-2");
  INFO(recovered.body);
  REQUIRE(recovered.status == 200);
  CHECK(parse(recovered).at("durability").as_string() == "spooled");
  const std::string recovered_id(parse(recovered).at("event_id").as_string());
  CHECK(recovered_id != first_id);

  // The database returns: the spool drains, the answered events are there, the refused one
  // is not.
  pg.start();
  REQUIRE(wait_spool_drained(node.port()));
  pqxx::connection pc(pg.url());
  pqxx::read_transaction tx(pc);
  auto ids_of = [&](const std::string& rid) {
    std::vector<std::string> ids;
    for (const auto& row :
         tx.exec_params("SELECT id::text FROM events WHERE request_id = $1", rid)) {
      ids.push_back(row[0].as<std::string>());
    }
    return ids;
  };
  CHECK(ids_of("full-1") == std::vector<std::string>{first_id});
  CHECK(ids_of("full-2") == std::vector<std::string>{recovered_id});
  CHECK(ids_of("full-never").empty());
  tx.commit();

  const auto status = node.stop(SIGTERM);
  INFO(node.err_text());
  CHECK(status.exited);
  CHECK(status.code == 0);
}
