// A database of its own for each test process, on the fixture's private PostgreSQL server
// (ctest fixture hg_pg, tests/support/pg-fixture). Tests registered with
// ${HG_PG_TEST_PROPERTIES} find the server's URL in HG_TEST_DATABASE_URL. Each test case is
// its own process under ctest, so parallel tests never share a database.
#pragma once

#include "hg_catch.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/migrations.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace hg_test {

/// The fixture server's URL (maintenance database). Fails the test when it is not set.
inline std::string server_url() {
  const char* url = std::getenv("HG_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    FAIL("HG_TEST_DATABASE_URL is not set: run this test through ctest (fixture hg_pg)");
  }
  return url;
}

/// The error of a result (a default error_code when it holds a value), for CHECKs on results
/// whose value type has no operator==.
template <class R>
boost::system::error_code error_of(const R& r) {
  return r.has_value() ? boost::system::error_code{} : r.error();
}

/// The audit keys test connections append with (id "test", a fixed key): the audit chain
/// refuses appends on a connection without keys.
inline std::shared_ptr<const hashguard::hashdb::audit_keyring> audit_keys() {
  static const auto keys = [] {
    auto ring = std::make_shared<hashguard::hashdb::audit_keyring>();
    ring->current.id = "test";
    for (std::size_t i = 0; i < ring->current.bytes.size(); ++i) {
      ring->current.bytes[i] = static_cast<std::uint8_t>(0xa0 + i);
    }
    return std::shared_ptr<const hashguard::hashdb::audit_keyring>(std::move(ring));
  }();
  return keys;
}

/// Creates a fresh database on construction, drops it on destruction.
class test_database {
 public:
  explicit test_database(bool migrated = true) {
    static std::atomic<int> counter{0};
    server_ = server_url();
    name_ = "hg_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    auto created = hashguard::hashdb::create_database(server_, name_);
    REQUIRE(created.has_value());
    url_ = hashguard::hashdb::url_with_database(server_, name_);
    if (migrated) {
      auto c = connect();
      auto m = hashguard::hashdb::migrate(c);
      INFO(c.last_error());
      REQUIRE(m.has_value());
    }
  }
  ~test_database() { (void)hashguard::hashdb::drop_database(server_, name_); }
  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  [[nodiscard]] const std::string& url() const { return url_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  /// A connection to this database, with the test audit keys.
  [[nodiscard]] hashguard::hashdb::connection connect() const {
    std::string why;
    auto c = hashguard::hashdb::connection::open(url_, &why);
    INFO(why);
    REQUIRE(c.has_value());
    c->use_audit_keys(audit_keys());
    return std::move(*c);
  }

 private:
  std::string server_;
  std::string name_;
  std::string url_;
};

}  // namespace hg_test
