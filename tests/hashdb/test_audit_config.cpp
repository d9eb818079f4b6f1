#include "hashguard/hashdb/audit_config.hpp"

#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"

#include <sys/stat.h>

#include <fstream>

using namespace hashguard;

namespace {

const std::string hex_a(64, 'a');
const std::string hex_b(64, 'b');

core::config audit_config(std::initializer_list<std::string> flags) {
  core::config c;
  hashdb::declare_audit_config(c);
  REQUIRE(c.apply_flags(std::vector<std::string>(flags)).has_value());
  return c;
}

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("audit config: keys and key lists parse, malformed ones do not") {
  auto k = hashdb::parse_audit_key("k-1.a_b", hex_a);
  REQUIRE(k.has_value());
  CHECK(k->bytes[0] == 0xaa);
  CHECK_FALSE(hashdb::parse_audit_key("", hex_a).has_value());
  CHECK_FALSE(hashdb::parse_audit_key("k:1", hex_a).has_value());
  CHECK_FALSE(hashdb::parse_audit_key("k1", hex_a.substr(2)).has_value());
  CHECK_FALSE(hashdb::parse_audit_key("k1", std::string(64, 'g')).has_value());
  auto list = hashdb::parse_audit_keys("old:" + hex_a + ", older:" + hex_b);
  REQUIRE(list.has_value());
  REQUIRE(list->size() == 2);
  CHECK((*list)[1].id == "older");
  CHECK((*list)[1].bytes[31] == 0xbb);
  CHECK(hashdb::parse_audit_keys("")->empty());
  CHECK_FALSE(hashdb::parse_audit_keys("old" + hex_a).has_value());
}

TEST_CASE("audit config: settings resolve their defaults and refuse contradictions") {
  const std::filesystem::path data = "/var/lib/hg";
  auto defaults = hashdb::read_audit_settings(audit_config({}), data);
  REQUIRE(defaults.has_value());
  CHECK(defaults->head_file == data / "audit-head.json");
  CHECK(defaults->generated_key == data / "audit.key");
  CHECK(defaults->publish_interval == std::chrono::seconds(60));
  CHECK(defaults->key_id == "k1");
  CHECK_FALSE(hashdb::read_audit_settings(audit_config({"--audit.key=abc"}), data).has_value());
  CHECK_FALSE(hashdb::read_audit_settings(audit_config({"--audit.publish_interval_s=-1"}), data)
                  .has_value());
  CHECK_FALSE(
      hashdb::read_audit_settings(audit_config({"--audit.previous_keys=x"}), data).has_value());
}

TEST_CASE("audit config: with no key configured one is generated once, 0600") {
  hg_test::temp_dir dir;
  auto s = hashdb::read_audit_settings(audit_config({}), dir.path / "data");
  REQUIRE(s.has_value());
  auto first = hashdb::load_audit_keys(*s);
  REQUIRE(first.has_value());
  CHECK(first->generated);
  CHECK(mode_of(s->generated_key) == 0600);
  CHECK(first->keys->current.id.rfind("auto-", 0) == 0);
  CHECK(first->keys->current.id.size() == 13);
  auto again = hashdb::load_audit_keys(*s);
  REQUIRE(again.has_value());
  CHECK_FALSE(again->generated);
  CHECK(again->keys->current.bytes == first->keys->current.bytes);
  CHECK(again->keys->current.id == first->keys->current.id);
  CHECK(files_in(dir.path / "data") == 1);  // no temporary file left behind

  SECTION("a key configured later keeps the generated one for verification") {
    auto configured = hashdb::read_audit_settings(
        audit_config({"--audit.key=" + hex_b, "--audit.key_id=k2"}), dir.path / "data");
    REQUIRE(configured.has_value());
    auto ring = hashdb::load_audit_keys(*configured);
    REQUIRE(ring.has_value());
    CHECK(ring->keys->current.id == "k2");
    const auto* old = ring->keys->find(first->keys->current.id);
    REQUIRE(old != nullptr);
    CHECK(old->bytes == first->keys->current.bytes);
  }
}

TEST_CASE("audit config: a key file is read, a bad one refused") {
  hg_test::temp_dir dir;
  const auto file = dir.path / "audit.secret";
  // audit.key_file is core::config's companion of the secret audit.key (no declaration of its
  // own): resolve_secret_files reads it into audit.key, as serve and the CLI do at start.
  const auto from_file = [&](std::initializer_list<std::string> more) {
    std::vector<std::string> flags{"--audit.key_file=" + file.string()};
    flags.insert(flags.end(), more.begin(), more.end());
    core::config c;
    hashdb::declare_audit_config(c);
    REQUIRE(c.apply_flags(flags).has_value());
    return c;
  };
  write_file(file, hex_a + "\n");
  auto c = from_file({"--audit.previous_keys=k0:" + hex_b});
  REQUIRE(c.resolve_secret_files().has_value());
  auto s = hashdb::read_audit_settings(c, dir.path);
  REQUIRE(s.has_value());
  auto ring = hashdb::load_audit_keys(*s);
  REQUIRE(ring.has_value());
  CHECK(ring->keys->current.id == "k1");
  CHECK(ring->keys->current.bytes[5] == 0xaa);
  REQUIRE(ring->keys->find("k0") != nullptr);
  CHECK_FALSE(std::filesystem::exists(dir.path / "audit.key"));  // nothing generated
  // Both audit.key and audit.key_file: refused before the settings are read.
  auto both = from_file({"--audit.key=" + hex_b});
  CHECK(hg_test::error_of(both.resolve_secret_files()) == core::errc::config_bad_value);
  write_file(file, "not a key\n");
  auto bad = from_file({});
  REQUIRE(bad.resolve_secret_files().has_value());
  CHECK(hg_test::error_of(hashdb::read_audit_settings(bad, dir.path)) ==
        hashdb::errc::invalid_argument);
  std::filesystem::remove(file);
  auto missing = from_file({});
  CHECK(hg_test::error_of(missing.resolve_secret_files()) == core::errc::config_file);
  // One id naming two different keys cannot be resolved from a row's key id.
  auto clash = hashdb::read_audit_settings(
      audit_config({"--audit.key=" + hex_a, "--audit.previous_keys=k1:" + hex_b}), dir.path);
  REQUIRE(clash.has_value());
  CHECK(hg_test::error_of(hashdb::load_audit_keys(*clash)) == hashdb::errc::invalid_argument);
}

TEST_CASE("audit config: the head file is written atomically, 0600, and read back") {
  hg_test::temp_dir dir;
  const auto file = dir.path / "heads" / "audit-head.json";
  auto absent = hashdb::read_audit_head(file);
  REQUIRE(absent.has_value());
  CHECK_FALSE(absent->has_value());
  const hashdb::audit_head head{42, std::string(64, 'c'), "2026-12-07T16:00:00.000001Z"};
  REQUIRE(hashdb::write_audit_head(file, head).has_value());
  CHECK(mode_of(file) == 0600);
  const hashdb::audit_head newer{43, std::string(64, 'd'), "2026-12-07T16:01:00.000001Z"};
  REQUIRE(hashdb::write_audit_head(file, newer).has_value());
  CHECK(files_in(file.parent_path()) == 1);  // the temporary file was renamed into place
  auto back = hashdb::read_audit_head(file);
  REQUIRE(back.has_value());
  REQUIRE(back->has_value());
  CHECK(**back == newer);
  write_file(file, "{\"id\":43,\"hash\":\"xyz\",\"at\":\"\"}");
  CHECK(hg_test::error_of(hashdb::read_audit_head(file)) == hashdb::errc::invalid_argument);
  write_file(file, "{\"id\"");
  CHECK(hg_test::error_of(hashdb::read_audit_head(file)) == hashdb::errc::invalid_argument);
}
