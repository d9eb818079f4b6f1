// `hashguard serve` wired to a real PostgreSQL (the hg_pg fixture) over real sockets: the
// snapshot is polled from the lists, /v1/scan matches and records its event (same request id:
// same event), /v1/hash, /v1/match, /v1/index, /readyz, and the scanner's errors on the wire.
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "http_client.hpp"

#include "hashguard/hashdb/keys.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;  // NOLINT: POSIX

using namespace hg_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

struct server_process {
  pid_t pid{-1};
  int out{-1};
  int err{-1};
  std::uint16_t port{0};
};

server_process spawn_serve(const std::vector<std::string>& args) {
  int out_pipe[2];
  int err_pipe[2];
  REQUIRE(::pipe(out_pipe) == 0);
  REQUIRE(::pipe(err_pipe) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  server_process p;
  REQUIRE(posix_spawn(&p.pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  p.out = out_pipe[0];
  p.err = err_pipe[0];
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (text.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd pf{p.out, POLLIN, 0};
    if (::poll(&pf, 1, 1000) <= 0) continue;
    char buf[1024];
    const ssize_t n = ::read(p.out, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  const auto at = text.find("listening on http://127.0.0.1:");
  INFO(text);
  REQUIRE(at != std::string::npos);
  p.port = static_cast<std::uint16_t>(std::stoi(text.substr(at + 30)));
  return p;
}

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<http_response> post(std::uint16_t port, std::string_view target, std::string_view key,
                                  std::string_view body,
                                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  headers.emplace_back("Authorization", "Bearer " + std::string(key));
  client c(port);
  if (!c.send(make_request("POST", target, headers, body))) return std::nullopt;
  return c.read_response(10000ms);
}

std::string error_code_of(const http_response& r) {
  auto v = json::parse(r.body);
  return std::string(v.at("error").at("code").as_string());
}

const std::string data_dir = HG_TEST_DATA;
const std::string match_image =
    data_dir + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg";
const std::string other_image =
    data_dir + "/pdq-vectors/images/reg-test-input/labelme-subset/q0122.jpg";

}  // namespace

TEST_CASE("serve: a list made from an image's PDQ matches that image and records the event") {
  test_database db;
  const auto dir =
      std::filesystem::temp_directory_path() / ("hg-serve-ingest-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string ingest = "ingest-key-for-serve-test";
  const std::string admin = "admin-key-for-serve-test";
  server_process srv =
      spawn_serve({HG_HASHGUARD_BIN, "serve", "--http-port=0", "--database-url=" + db.url(),
                   "--data-dir=" + dir.string(), "--auth-keys=ingest:" + ingest,
                   "--auth-bootstrap-key=" + admin, "--snapshot-poll-ms=50", "--auth-refresh-ms=50",
                   "--http-scan-threads=2"});

  // An empty catalog is a valid snapshot: the node is ready.
  auto ready = fetch(srv.port, "GET", "/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);

  const std::string image = file_bytes(match_image);
  auto hashed = post(srv.port, "/v1/hash", ingest, image);
  REQUIRE(hashed);
  INFO(hashed->body);
  REQUIRE(hashed->status == 200);
  const auto hv = json::parse(hashed->body);
  const std::string pdq(hv.at("hashes").at("pdq").as_string());
  CHECK(pdq.size() == 64);
  CHECK(hv.at("hashes").at("quality").as_int64() >= 50);
  CHECK(hv.at("hashes").at("dihedral").as_object().size() == 7);
  CHECK(hv.at("hashes").at("sha256").as_string().size() == 64);

  // Before any list: no match.
  auto before = post(srv.port, "/v1/scan", ingest, image);
  REQUIRE(before);
  REQUIRE(before->status == 200);
  CHECK(json::parse(before->body).at("verdict").as_string() == "no_match");

  // A list holding that hash, through the admin routes; the import report names the bad line.
  auto created = post(srv.port, "/v1/lists", admin,
                      R"({"name":"serve-test","signal":"pdq","threshold":31,"action":"block"})",
                      {{"Content-Type", "application/json"}});
  REQUIRE(created);
  INFO(created->body);
  REQUIRE(created->status == 201);
  const std::int64_t list_id = json::parse(created->body).at("id").as_int64();
  auto dup = post(srv.port, "/v1/lists", admin, R"({"name":"serve-test"})");
  REQUIRE(dup);
  CHECK(dup->status == 409);
  auto imported = post(srv.port, "/v1/lists/" + std::to_string(list_id) + "/hashes?format=hex",
                       admin, pdq + "\nnot-a-hash\n" + pdq + "\n");
  REQUIRE(imported);
  INFO(imported->body);
  REQUIRE(imported->status == 200);
  const auto report = json::parse(imported->body);
  CHECK(report.at("accepted").to_number<std::uint64_t>() == 1);
  CHECK(report.at("rejected").to_number<std::uint64_t>() == 1);
  CHECK(report.at("duplicates").to_number<std::uint64_t>() == 1);
  CHECK(report.at("rejected_lines").as_array()[0].at("line").to_number<std::uint64_t>() == 2);
  auto listed = fetch(srv.port, "GET", "/v1/lists", admin);
  REQUIRE(listed);
  REQUIRE(listed->status == 200);
  CHECK(json::parse(listed->body).at("lists").as_array().size() == 1);
  auto exported = fetch(srv.port, "GET", "/v1/lists/serve-test/export?format=hex", admin);
  REQUIRE(exported);
  CHECK(exported->status == 200);
  CHECK(exported->body.find(pdq) != std::string::npos);
  auto missing = fetch(srv.port, "GET", "/v1/lists/999999/export", admin);
  REQUIRE(missing);
  CHECK(missing->status == 404);

  // The refresher polls every 50 ms; wait for the swap.
  std::int64_t version = 0;
  for (int i = 0; i < 200 && version == 0; ++i) {
    auto idx = fetch(srv.port, "GET", "/v1/index", admin);
    REQUIRE(idx);
    REQUIRE(idx->status == 200);
    const auto iv = json::parse(idx->body);
    if (iv.at("sizes").at("pdq").to_number<std::uint64_t>() == 1)
      version = iv.at("version").as_int64();
    if (version == 0) std::this_thread::sleep_for(50ms);
  }
  REQUIRE(version > 0);

  const std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Zone", "zone-a"}, {"X-Request-Id", "req-1"}, {"X-Source-Url", "https://a.test/x.jpg"}};
  auto scanned = post(srv.port, "/v1/scan", ingest, image, headers);
  REQUIRE(scanned);
  INFO(scanned->body);
  REQUIRE(scanned->status == 200);
  const auto sv = json::parse(scanned->body);
  CHECK(sv.at("verdict").as_string() == "match");
  CHECK(sv.at("action").as_string() == "block");
  REQUIRE(sv.at("hits").as_array().size() == 1);
  const auto& hit = sv.at("hits").as_array()[0];
  CHECK(hit.at("list").as_int64() == list_id);
  CHECK(hit.at("signal").as_string() == "pdq");
  CHECK(hit.at("distance").as_int64() == 0);
  CHECK(hit.at("variant").as_string() == "original");
  const std::string event_id(sv.at("event_id").as_string());
  CHECK(event_id.size() == 36);

  // The event is in the database (committed, or spooled and replayed by the recorder soon
  // after: wait for it).
  int stored = 0;
  for (int i = 0; i < 100 && stored == 0; ++i) {
    pqxx::connection pc(db.url());
    pqxx::work tx(pc);
    stored = tx.exec_params1("SELECT count(*) FROM events WHERE id = $1::uuid AND zone = $2",
                             event_id, "zone-a")[0]
                 .as<int>();
    if (stored == 0) std::this_thread::sleep_for(50ms);
  }
  CHECK(stored == 1);

  // The same (zone, request id) again: the first event's id.
  auto again = post(srv.port, "/v1/scan", ingest, image, headers);
  REQUIRE(again);
  REQUIRE(again->status == 200);
  CHECK(json::parse(again->body).at("event_id").as_string() == event_id);

  // A different image does not match.
  auto other = post(srv.port, "/v1/scan", ingest, file_bytes(other_image));
  REQUIRE(other);
  REQUIRE(other->status == 200);
  CHECK(json::parse(other->body).at("verdict").as_string() == "no_match");
  CHECK(json::parse(other->body).at("event_id").is_null());

  // Clients that hash on their side.
  auto matched = post(srv.port, "/v1/match", ingest, R"({"pdq":")" + pdq + R"("})",
                      {{"Content-Type", "application/json"}});
  REQUIRE(matched);
  INFO(matched->body);
  REQUIRE(matched->status == 200);
  CHECK(json::parse(matched->body).at("hits").as_array().size() == 1);
  auto bad_hex = post(srv.port, "/v1/match", ingest, R"({"pdq":"zz"})");
  REQUIRE(bad_hex);
  CHECK(bad_hex->status == 400);

  // The scanner's errors, on the wire.
  auto empty = post(srv.port, "/v1/scan", ingest, "");
  REQUIRE(empty);
  CHECK(empty->status == 415);
  CHECK(error_code_of(*empty) == "empty");
  auto truncated = post(srv.port, "/v1/scan", ingest, image.substr(0, 20));
  REQUIRE(truncated);
  CHECK((truncated->status == 422 || truncated->status == 415));
  auto unsupported = post(srv.port, "/v1/scan", ingest, "this is not an image at all");
  REQUIRE(unsupported);
  CHECK(unsupported->status == 415);
  CHECK(error_code_of(*unsupported) == "unsupported_format");

  // Roles: the admin key may not scan.
  auto wrong_role = post(srv.port, "/v1/scan", admin, image);
  REQUIRE(wrong_role);
  CHECK(wrong_role->status == 403);

  // Disabling the list rebuilds the snapshot on this node: the image no longer matches.
  {
    client c(srv.port);
    REQUIRE(c.send(
        make_request("PATCH", "/v1/lists/" + std::to_string(list_id),
                     {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/json"}},
                     std::string_view(R"({"enabled":false})"))));
    auto patched = c.read_response(10000ms);
    REQUIRE(patched);
    INFO(patched->body);
    CHECK(patched->status == 200);
    CHECK(json::parse(patched->body).at("enabled").as_bool() == false);
  }
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    auto idx = fetch(srv.port, "GET", "/v1/index", admin);
    REQUIRE(idx);
    gone = json::parse(idx->body).at("sizes").at("pdq").to_number<std::uint64_t>() == 0;
    if (!gone) std::this_thread::sleep_for(50ms);
  }
  CHECK(gone);
  {
    client c(srv.port);
    REQUIRE(c.send(
        make_request("DELETE", "/v1/lists/serve-test", {{"Authorization", "Bearer " + admin}})));
    auto retired = c.read_response(10000ms);
    REQUIRE(retired);
    CHECK(retired->status == 200);
    CHECK(json::parse(retired->body).at("retired").as_bool() == true);
  }

  // A key created with the key store (as `hashguard keys create` does) works after the next
  // reload, and stops working once revoked.
  {
    auto conn = db.connect();
    hashguard::hashdb::key_store store(conn);
    auto made = store.create("edge", hashguard::core::role::ingest);
    REQUIRE(made);
    int status = 0;
    for (int i = 0; i < 200 && status != 200; ++i) {
      auto r = post(srv.port, "/v1/hash", made->secret, image);
      REQUIRE(r);
      status = r->status;
      if (status != 200) std::this_thread::sleep_for(50ms);
    }
    CHECK(status == 200);
    REQUIRE(store.revoke(made->info.id));
    for (int i = 0; i < 200 && status != 401; ++i) {
      auto r = post(srv.port, "/v1/hash", made->secret, image);
      REQUIRE(r);
      status = r->status;
      if (status != 401) std::this_thread::sleep_for(50ms);
    }
    CHECK(status == 401);
  }

  auto metrics = fetch(srv.port, "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("hg_snapshot_entries_pdq 0") != std::string::npos);
  CHECK(metrics->body.find("hg_stage_duration_seconds") != std::string::npos);

  REQUIRE(::kill(srv.pid, SIGTERM) == 0);
  int status = 0;
  REQUIRE(::waitpid(srv.pid, &status, 0) == srv.pid);
  const std::string err = read_all(srv.err);
  ::close(srv.out);
  ::close(srv.err);
  INFO(err);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("serve: --match-dihedral=false matches the original orientation only") {
  test_database db;
  const auto dir =
      std::filesystem::temp_directory_path() / ("hg-serve-dihedral-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string ingest = "ingest-key-for-dihedral-test";
  const std::string admin = "admin-key-for-dihedral-test";
  const std::string dih = data_dir + "/pdq-vectors/images/reg-test-input/dih/";
  const std::string original = file_bytes(dih + "bridge-1-original.jpg");
  const std::string rotated = file_bytes(dih + "bridge-2-rotate-90.jpg");
  auto start = [&](const std::string& dihedral_flag) {
    std::vector<std::string> args{HG_HASHGUARD_BIN,
                                  "serve",
                                  "--http-port=0",
                                  "--database-url=" + db.url(),
                                  "--data-dir=" + dir.string(),
                                  "--auth-keys=ingest:" + ingest,
                                  "--auth-bootstrap-key=" + admin,
                                  "--snapshot-poll-ms=50",
                                  "--http-scan-threads=1"};
    if (!dihedral_flag.empty()) args.push_back(dihedral_flag);
    return spawn_serve(args);
  };
  auto stop = [](server_process& p) {
    REQUIRE(::kill(p.pid, SIGTERM) == 0);
    int status = 0;
    REQUIRE(::waitpid(p.pid, &status, 0) == p.pid);
    ::close(p.out);
    ::close(p.err);
    CHECK(WIFEXITED(status));
  };
  auto wait_for_entries = [&](std::uint16_t port) {
    for (int i = 0; i < 200; ++i) {
      auto idx = fetch(port, "GET", "/v1/index", admin);
      REQUIRE(idx);
      REQUIRE(idx->status == 200);
      if (json::parse(idx->body).at("sizes").at("pdq").to_number<std::uint64_t>() == 1) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL("the snapshot never held the listed hash");
  };
  auto scan = [&](std::uint16_t port, const std::string& image) {
    auto r = post(port, "/v1/scan", ingest, image);
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    return json::parse(r->body);
  };

  server_process off = start("--match-dihedral=false");
  auto hashed = post(off.port, "/v1/hash", ingest, original);
  REQUIRE(hashed);
  REQUIRE(hashed->status == 200);
  const std::string pdq(json::parse(hashed->body).at("hashes").at("pdq").as_string());
  auto created = post(off.port, "/v1/lists", admin,
                      R"({"name":"dihedral-test","signal":"pdq","threshold":31,"dihedral":true})",
                      {{"Content-Type", "application/json"}});
  REQUIRE(created);
  REQUIRE(created->status == 201);
  auto imported = post(off.port, "/v1/lists/dihedral-test/hashes?format=hex", admin, pdq + "\n");
  REQUIRE(imported);
  REQUIRE(imported->status == 200);
  wait_for_entries(off.port);
  CHECK(scan(off.port, original).at("verdict").as_string() == "match");
  // The list allows dihedral matches, but this node searches the original orientation only.
  CHECK(scan(off.port, rotated).at("verdict").as_string() == "no_match");
  stop(off);

  // The default searches all eight orientations: the rotated copy matches through a variant.
  server_process on = start("");
  wait_for_entries(on.port);
  const auto v = scan(on.port, rotated);
  CHECK(v.at("verdict").as_string() == "match");
  REQUIRE(v.at("hits").as_array().size() == 1);
  CHECK(v.at("hits").as_array()[0].at("variant").as_string() != "original");
  stop(on);
  std::filesystem::remove_all(dir);
}
