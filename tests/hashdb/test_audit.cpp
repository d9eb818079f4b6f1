#include "hashguard/hashdb/audit.hpp"

#include "hg_pg.hpp"

#include <pqxx/pqxx>

#include <memory>
#include <thread>

using namespace hashguard;

namespace {

// Runs SQL as a superuser that switched the append-only trigger off, as an attacker would.
void tamper(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  tx.exec0("SET LOCAL session_replication_role = replica");
  tx.exec(sql);
  tx.commit();
}

// The unkeyed chain of rows written before keying, in SQL: what an attacker without the key
// can compute (PostgreSQL's own sha256), and how the test writes legacy rows.
const char* const legacy_hash_sql = R"(
CREATE FUNCTION hg_field(v text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
  $f$ SELECT convert_to(octet_length(v)::text || ':', 'UTF8') || convert_to(v, 'UTF8')
             || convert_to(';', 'UTF8') $f$;
CREATE FUNCTION hg_legacy_hash(prev bytea, at timestamptz, actor text, action text,
                               subject text, detail text) RETURNS bytea LANGUAGE sql AS
  $f$ SELECT sha256(prev || hg_field(((extract(epoch FROM at) * 1000000)::bigint)::text)
             || hg_field(actor) || hg_field(action) || hg_field(subject) || hg_field(detail)) $f$;
-- Rewrites every row from `first` on (in id order) so its prev_hash and plain SHA-256 chain
-- agree again; `unkeyed` also marks the rows as legacy rows.
CREATE FUNCTION hg_rechain(first bigint, unkeyed boolean) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  r record;
  prev bytea;
BEGIN
  SELECT row_hash INTO prev FROM audit_log WHERE id < first ORDER BY id DESC LIMIT 1;
  IF prev IS NULL THEN prev := decode(repeat('00', 32), 'hex'); END IF;
  FOR r IN SELECT * FROM audit_log WHERE id >= first ORDER BY id LOOP
    UPDATE audit_log
       SET prev_hash = prev,
           key_id = CASE WHEN unkeyed THEN NULL ELSE key_id END,
           row_hash = hg_legacy_hash(prev, at, actor, action, subject, detail)
     WHERE id = r.id
    RETURNING row_hash INTO prev;
  END LOOP;
END $f$;
)";

// Appends `n` legacy rows (as the code before keying wrote them) after the current log.
void legacy_rows(const std::string& url, int n) {
  tamper(url,
         "INSERT INTO audit_log (id, at, actor, action, subject, detail, prev_hash, row_hash)"
         " SELECT nextval('audit_log_id_seq'), clock_timestamp(), 'cli:old', 'list.create',"
         " 'list:' || g, '{}', decode(repeat('ff', 32), 'hex'), decode(repeat('ff', 32), 'hex')"
         " FROM generate_series(1, " +
             std::to_string(n) + ") g");
  // Chain them: the placeholders above are replaced in id order.
  tamper(url,
         "SELECT hg_rechain(min(id), true) FROM audit_log"
         " WHERE row_hash = decode(repeat('ff', 32), 'hex')");
}

std::shared_ptr<const hashdb::audit_keyring> keyring(const std::string& id, std::uint8_t fill_byte,
                                                     std::vector<hashdb::audit_key> previous = {}) {
  auto ring = std::make_shared<hashdb::audit_keyring>();
  ring->current.id = id;
  ring->current.bytes.fill(fill_byte);
  ring->previous = std::move(previous);
  return ring;
}

// verify (against `published` when given) fails first at row `id` for `problem`.
void expect_broken(hashdb::audit_log& log, std::int64_t id, const std::string& problem,
                   const std::optional<hashdb::audit_head>& published = std::nullopt) {
  auto v = log.verify(published);
  REQUIRE(v.has_value());
  CHECK_FALSE(v->ok);
  CHECK(v->first_bad == id);
  CHECK(v->problem == problem);
}

void fill(hashdb::audit_log& log, int n) {
  for (int i = 1; i <= n; ++i) {
    REQUIRE(log.append("key:7", "case.read", "case:" + std::to_string(i),
                       "{\"n\":" + std::to_string(i) + "}")
                .has_value());
  }
}

// A fresh database, a connection with the test audit keys, and its log.
struct audit_fixture {
  hg_test::test_database db;
  hashdb::connection c{db.connect()};
  hashdb::audit_log log{c};
};

}  // namespace

TEST_CASE_METHOD(audit_fixture, "audit: an intact chain verifies, including the empty one") {
  auto empty = log.verify();
  REQUIRE(empty.has_value());
  CHECK(empty->ok);
  CHECK(empty->rows == 0);
  fill(log, 5);
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK(v->ok);
  CHECK(v->rows == 5);
  REQUIRE(v->head_id.has_value());
  auto recent = log.recent(2);
  REQUIRE(recent.has_value());
  REQUIRE(recent->size() == 2);
  CHECK((*recent)[0].id == *v->head_id);
  CHECK((*recent)[0].row_hash == v->head_hash);
  CHECK((*recent)[0].subject == "case:5");
  auto older = log.recent(10, (*recent)[1].id);
  REQUIRE(older.has_value());
  CHECK(older->size() == 3);
}

TEST_CASE_METHOD(audit_fixture, "audit: the append-only trigger refuses updates and deletes") {
  fill(log, 2);
  pqxx::connection pc(db.url());
  {
    pqxx::work tx(pc);
    CHECK_THROWS(tx.exec0("UPDATE audit_log SET actor = 'x'"));
  }
  {
    pqxx::work tx(pc);
    CHECK_THROWS(tx.exec0("DELETE FROM audit_log"));
  }
  CHECK(log.verify()->ok);
}

TEST_CASE_METHOD(audit_fixture, "audit: an edited row is found") {
  fill(log, 6);
  const auto third = (*log.recent(10))[3].id;
  tamper(db.url(),
         "UPDATE audit_log SET detail = '{\"n\":99}' WHERE id = " + std::to_string(third));
  expect_broken(log, third, "edited");
}

TEST_CASE_METHOD(audit_fixture, "audit: a deleted row is found") {
  fill(log, 6);
  const auto rows = *log.recent(10);  // newest first
  tamper(db.url(), "DELETE FROM audit_log WHERE id = " + std::to_string(rows[3].id));
  expect_broken(log, rows[2].id, "deleted");  // the row after the deleted one
}

TEST_CASE_METHOD(audit_fixture, "audit: reordered rows are found") {
  std::string expected;
  SECTION("legacy rows: their hash does not cover the id, only the links tell the order") {
    tamper(db.url(), legacy_hash_sql);
    legacy_rows(db.url(), 6);
    expected = "reordered";
  }
  SECTION("keyed rows cover their id: a moved row is an edit") {
    fill(log, 6);
    expected = "edited";
  }
  REQUIRE(log.verify()->ok);
  const auto rows = *log.recent(10);
  const auto a = rows[3].id;
  const auto b = rows[2].id;  // a < b, adjacent
  // Swap the two rows' positions: ids stay, contents (with their hashes) trade places.
  tamper(db.url(), "UPDATE audit_log SET id = -id WHERE id IN (" + std::to_string(a) + "," +
                       std::to_string(b) + ")");
  tamper(db.url(), "UPDATE audit_log SET id = CASE WHEN id = -" + std::to_string(a) + " THEN " +
                       std::to_string(b) + " ELSE " + std::to_string(a) + " END WHERE id < 0");
  expect_broken(log, a, expected);
}

TEST_CASE("audit: concurrent appenders keep one linear chain") {
  hg_test::test_database db;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto c = hashdb::connection::open(db.url());
      if (!c) {
        ++failures;
        return;
      }
      c->use_audit_keys(hg_test::audit_keys());
      hashdb::audit_log log(*c);
      for (int i = 0; i < 25; ++i) {
        if (!log.append("writer:" + std::to_string(w), "test", "x", "{}")) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  CHECK(failures == 0);
  auto c = db.connect();
  hashdb::audit_log log(c);
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK(v->ok);
  CHECK(v->rows == 100);
}

TEST_CASE_METHOD(audit_fixture,
                 "audit: a row and its suffix rewritten in SQL without the key fail verify") {
  fill(log, 8);
  const auto rows = *log.recent(10);  // newest first
  const auto victim = rows[4].id;
  tamper(db.url(), legacy_hash_sql);
  // The attacker edits a row, then recomputes every later link with plain SHA-256.
  tamper(db.url(),
         "UPDATE audit_log SET detail = '{\"n\":0}' WHERE id = " + std::to_string(victim));
  SECTION("keeping the key ids") {
    tamper(db.url(), "SELECT hg_rechain(" + std::to_string(victim) + ", false)");
    expect_broken(log, victim, "edited");
  }
  SECTION("passing the rows off as legacy rows") {
    tamper(db.url(), "SELECT hg_rechain(" + std::to_string(victim) + ", true)");
    expect_broken(log, victim, "downgraded");
  }
}

TEST_CASE_METHOD(audit_fixture,
                 "audit: a whole log passed off as legacy rows fails against a published head") {
  fill(log, 5);
  auto head = log.head();
  REQUIRE(head.has_value());
  REQUIRE(head->has_value());
  tamper(db.url(), legacy_hash_sql);
  tamper(db.url(),
         "UPDATE audit_log SET detail = '{\"n\":0}' WHERE id = " + std::to_string((*head)->id - 3));
  tamper(db.url(), "SELECT hg_rechain(min(id), true) FROM audit_log");
  // Every row is now a valid legacy row: without a head this cannot be told from a log
  // written before keying (the limit the published head exists for).
  auto alone = log.verify();
  REQUIRE(alone.has_value());
  CHECK(alone->ok);
  expect_broken(log, (*head)->id, "head_mismatch", **head);
}

TEST_CASE_METHOD(audit_fixture,
                 "audit: deleting the newest rows after a published head fails verify") {
  fill(log, 6);
  const auto head = **log.head();
  fill(log, 2);  // rows after the head are fine
  auto intact = log.verify(head);
  REQUIRE(intact.has_value());
  CHECK(intact->ok);
  REQUIRE(intact->published.has_value());
  CHECK(intact->published->id == head.id);
  tamper(db.url(), "DELETE FROM audit_log WHERE id >= " + std::to_string(head.id - 1));
  // The shorter log is a valid chain on its own.
  CHECK(log.verify()->ok);
  expect_broken(log, head.id, "truncated", head);
}

TEST_CASE("audit: legacy rows followed by keyed rows verify") {
  hg_test::test_database db;
  tamper(db.url(), legacy_hash_sql);
  legacy_rows(db.url(), 4);
  auto c = db.connect();
  hashdb::audit_log log(c);
  const auto last_legacy = (*log.recent(1))[0];
  fill(log, 3);
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK(v->ok);
  CHECK(v->rows == 7);
  CHECK(v->legacy_rows == 4);
  // The first keyed row chains from the last legacy row's hash.
  pqxx::connection pc(db.url());
  pqxx::read_transaction tx(pc);
  const auto link = tx.exec1("SELECT encode(prev_hash, 'hex'), key_id FROM audit_log WHERE id > " +
                             std::to_string(last_legacy.id) + " ORDER BY id LIMIT 1");
  CHECK(link[0].as<std::string>() == last_legacy.row_hash);
  CHECK(link[1].as<std::string>() == "test");
}

TEST_CASE("audit: rows keyed before a key rotation still verify") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto old_keys = keyring("k1", 0x11);
  const auto new_keys = keyring("k2", 0x22, {old_keys->current});
  c.use_audit_keys(old_keys);
  hashdb::audit_log log(c);
  fill(log, 3);
  c.use_audit_keys(new_keys);
  fill(log, 3);
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK(v->ok);
  CHECK(v->rows == 6);
  // Without the old key its rows cannot be checked: verify says which key is missing.
  c.use_audit_keys(keyring("k2", 0x22));
  expect_broken(log, (*log.recent(6))[5].id, "unknown_key");
  // The same id holding other bytes is a wrong key: every row it keyed is an edit.
  c.use_audit_keys(keyring("k2", 0x22, {{"k1", {}}}));
  CHECK(log.verify()->problem == "edited");
}

TEST_CASE("audit: a connection without audit keys appends nothing") {
  hg_test::test_database db;
  auto c = hashdb::connection::open(db.url());
  REQUIRE(c.has_value());
  hashdb::audit_log log(*c);
  CHECK(hg_test::error_of(log.append("cli:x", "test", "x", "{}")) ==
        hashdb::errc::audit_key_missing);
  CHECK(log.recent(10)->empty());
  c->use_audit_keys(hg_test::audit_keys());
  CHECK(log.append("cli:x", "test", "x", "{}").has_value());
}

TEST_CASE_METHOD(audit_fixture, "audit: verify pages through a log longer than one page") {
  // Verify reads 1,000 rows per page: the edit below is on the second one.
  for (int i = 0; i < 1003; ++i) {
    REQUIRE(log.append("key:1", "case.read", "case:" + std::to_string(i), "{}").has_value());
  }
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK(v->ok);
  CHECK(v->rows == 1003);
  const auto late = (*log.recent(2))[1].id;  // on the second page
  tamper(db.url(), "UPDATE audit_log SET actor = 'key:2' WHERE id = " + std::to_string(late));
  expect_broken(log, late, "edited");
  CHECK(log.verify()->rows == 1003);  // rows after the first bad one are still counted
}
