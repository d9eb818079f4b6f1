// A corrupt snapshot cache file (issue 8, fault tests): truncated, bytes flipped, wrong magic,
// empty, or not a cache at all. serve starts, rebuilds the snapshot from the database (and
// the cache file with it), is ready and matches correctly. The test damages the file without
// knowing its layout beyond "it starts with a magic".
#include "hg_pg.hpp"
#include "system_support.hpp"

using namespace hg_sys;

namespace {

const std::string listed_image =
    test_data + "/pdq-vectors/images/reg-test-input/labelme-subset/q0291.jpg";
const std::string other_image =
    test_data + "/pdq-vectors/images/reg-test-input/labelme-subset/q0122.jpg";

// Starts serve on the data directory, checks it is ready and matches (and only) the listed
// image, returns the source its log names for the first snapshot, then stops it.
std::string serve_and_match(const fs::path& dir, const std::string& url, const std::string& tag) {
  const std::string ingest = "system-ingest-key-cache-0123456789ab";
  const std::string admin = "system-admin-key-cache-0123456789abc";
  serve_process node(
      serve_command({"--database-url=" + url, "--data-dir=" + (dir / "node").string(),
                     "--auth-keys=ingest:" + ingest, "--auth-bootstrap-key=" + admin,
                     "--snapshot-poll-ms=200", "--http-log-requests=false"}));
  INFO(tag << "\n" << node.err_text());
  // Ready at once: the snapshot is loaded before the port opens.
  auto ready = call(node.port(), "GET", "/readyz", {});
  REQUIRE(ready);
  CHECK(ready->status == 200);
  auto hit = call(node.port(), "POST", "/v1/scan", ingest, file_bytes(listed_image),
                  {{"X-Request-Id", "cache-" + tag}});
  REQUIRE(hit);
  INFO(hit->body);
  REQUIRE(hit->status == 200);
  CHECK(parse(*hit).at("verdict").as_string() == "match");
  CHECK(parse(*hit).at("hits").as_array().at(0).at("signal").as_string() == "pdq");
  auto miss = call(node.port(), "POST", "/v1/scan", ingest, file_bytes(other_image));
  REQUIRE(miss);
  REQUIRE(miss->status == 200);
  CHECK(parse(*miss).at("verdict").as_string() == "no_match");
  auto idx = call(node.port(), "GET", "/v1/index", admin);
  REQUIRE(idx);
  CHECK(parse(*idx).at("sizes").at("pdq").to_number<std::uint64_t>() == 1);
  const std::string log = node.err_text();
  const auto status = node.stop(SIGTERM);
  CHECK(status.exited);
  CHECK(status.code == 0);
  const std::string marker = "entries from ";
  const auto at = log.find(marker);
  REQUIRE(at != std::string::npos);
  return log.substr(at + marker.size(), log.find('\n', at) - at - marker.size());
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("fault: a corrupt snapshot cache is rebuilt from the database and the node serves") {
  hg_test::test_database db;
  sys_dir dir("cache");
  const fs::path cache = dir.path / "node" / "snapshot.cache";
  {
    const std::string admin = "system-admin-key-cache-0123456789abc";
    const std::string ingest = "system-ingest-key-cache-0123456789ab";
    serve_process node(
        serve_command({"--database-url=" + db.url(), "--data-dir=" + (dir.path / "node").string(),
                       "--auth-keys=ingest:" + ingest, "--auth-bootstrap-key=" + admin,
                       "--snapshot-poll-ms=200", "--http-log-requests=false"}));
    make_list(node.port(), admin, "cache", {pdq_of(node.port(), ingest, file_bytes(listed_image))});
    REQUIRE(wait_pdq_entries(node.port(), admin, 1));
    // The rebuilt snapshot is written to the cache: wait for the file to settle.
    REQUIRE(eventually([&] { return fs::exists(cache) && fs::file_size(cache) > 16; }, 60s));
    node.stop(SIGTERM);
  }
  // A healthy cache is used as it is.
  CHECK(serve_and_match(dir.path, db.url(), "healthy") == "cache");
  const std::string good = file_bytes(cache);
  REQUIRE(good.size() > 64);

  std::string flipped = good;
  for (std::size_t i = good.size() / 3; i < good.size(); i += 37) {
    flipped[i] = static_cast<char>(flipped[i] ^ 0x5A);
  }
  std::string one_bit = good;
  one_bit[good.size() / 2] = static_cast<char>(one_bit[good.size() / 2] ^ 0x01);
  std::string magic = good;
  for (std::size_t i = 0; i < 8; ++i) magic[i] = 'X';
  const std::vector<std::pair<std::string, std::string>> damage = {
      {"truncated", good.substr(0, good.size() / 2)},
      {"truncated-by-one", good.substr(0, good.size() - 1)},
      {"flipped", flipped},
      {"one-bit", one_bit},
      {"wrong-magic", magic},
      {"empty", ""},
      {"garbage", std::string(good.size(), '\x7f')},
  };
  for (const auto& [name, bytes] : damage) {
    INFO("damage: " << name);
    write_bytes(cache, bytes);
    CHECK(serve_and_match(dir.path, db.url(), name) == "database");
    // The rebuild rewrote the cache: the next start uses it again.
    CHECK(file_bytes(cache) != bytes);
    CHECK(serve_and_match(dir.path, db.url(), name + "-after") == "cache");
  }
}
