#include "hashguard/hashdb/recorder.hpp"

#include "hashguard/hashdb/embedded_postgres.hpp"
#include "hashguard/hashdb/migrations.hpp"
#include "hashguard/hashdb/spool.hpp"

#include "hashdb_test_support.hpp"
#include "hg_pg.hpp"

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

using namespace hashguard;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using temp_dir = hg_test::temp_dir;

hashdb::match_event event(int n, std::string request = "") {
  hashdb::match_event e;
  e.zone = "zone-" + std::to_string(n % 3);
  e.request_id = std::move(request);
  e.source_url = "https://cdn.example/" + std::to_string(n);
  char sha[65];
  std::snprintf(sha, sizeof sha, "%064x", n);
  e.sha256 = sha;
  e.act = core::action::block;
  hashdb::event_hit h;
  h.list_id = 1;
  h.entry_id = n % 5;
  h.distance = 0;
  h.sig = core::signal::sha256;
  h.list_version = 1;
  h.act = core::action::block;
  e.hits.push_back(h);
  return e;
}

/// A recorder on `url` with its spool in `dir` and one commit lane.
std::unique_ptr<hashdb::event_recorder> start_recorder(const std::string& url, const temp_dir& dir,
                                                       std::chrono::milliseconds deadline) {
  hashdb::recorder_options o;
  o.database_url = url;
  o.spool_path = dir.path / "events.spool";
  o.commit_deadline = deadline;
  o.lanes = 1;
  auto rec = hashdb::event_recorder::start(o);
  REQUIRE(rec.has_value());
  return std::move(*rec);
}

/// Records `e` straight into the case store, as another node would.
void record_elsewhere(const hg_test::test_database& db, const hashdb::match_event& e) {
  auto c = db.connect();
  hashdb::case_store other_node(c, {});
  REQUIRE(other_node.record(e).has_value());
}

std::set<std::string> stored_ids(const std::string& url) {
  const auto ids = hg_test::column_of(url, "SELECT id::text FROM events");
  return {ids.begin(), ids.end()};
}

}  // namespace

TEST_CASE("recorder: events commit within the deadline: retries are one event") {
  hg_test::test_database db;
  temp_dir dir;
  hashdb::recorder_options o;
  o.database_url = db.url();
  o.spool_path = dir.path / "events.spool";
  o.commit_deadline = 5000ms;  // generous: this test checks the committed path
  auto rec = hashdb::event_recorder::start(o);
  REQUIRE(rec.has_value());
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto r = (*rec)->record(event(i, "req-" + std::to_string(i)));
    REQUIRE(r.has_value());
    CHECK(r->where == hashdb::durability::committed);
    CHECK(r->outcome == hashdb::record_outcome::recorded);
    CHECK(r->case_id.has_value());
    ids.push_back(r->event_id);
  }
  auto retry = (*rec)->record(event(3, "req-3"));
  REQUIRE(retry.has_value());
  CHECK(retry->outcome == hashdb::record_outcome::duplicate_request);
  CHECK(retry->event_id == ids[3]);
  CHECK(stored_ids(db.url()) == std::set<std::string>(ids.begin(), ids.end()));
  CHECK((*rec)->stats().committed == 20);
  CHECK((*rec)->stats().spooled == 0);

  auto bad = event(1);
  bad.zone.clear();
  CHECK(hg_test::error_of((*rec)->record(bad)) == hashdb::errc::invalid_argument);
}

TEST_CASE("recorder: spool while the server is down, replay in order when it is back") {
  temp_dir dir;
  hashdb::server_options so;
  so.data_dir = dir.path;  // start() lets the server's user into this 0700 directory
  std::string why;
  auto server = hashdb::embedded_server::start(so, &why);
  INFO(why);
  REQUIRE(server.has_value());
  {
    auto c = hashdb::connection::open(server->url());
    REQUIRE(c.has_value());
    REQUIRE(hashdb::migrate(*c).has_value());
  }
  const std::string url = server->url();

  hashdb::recorder_options o;
  o.database_url = url;
  o.spool_path = dir.path / "spool" / "events.spool";
  // Generous: the first ten must commit even on a loaded machine; the outage's events reach the
  // spool through the commit's failure (the server is gone), not through this deadline.
  o.commit_deadline = 30000ms;
  o.retry_interval = 100ms;
  std::vector<std::string> ids;
  {
    auto rec = hashdb::event_recorder::start(o);
    REQUIRE(rec.has_value());
    for (int i = 0; i < 10; ++i) {
      auto r = (*rec)->record(event(i));
      REQUIRE(r.has_value());
      CHECK(r->where == hashdb::durability::committed);
      ids.push_back(r->event_id);
    }

    // The server goes away mid-run.
    REQUIRE(server->stop().has_value());
    for (int i = 10; i < 30; ++i) {
      auto r = (*rec)->record(event(i, "r" + std::to_string(i)));
      REQUIRE(r.has_value());
      CHECK(r->where == hashdb::durability::spooled);
      ids.push_back(r->event_id);
    }
    // A retry while spooling still answers with the first id.
    auto retry = (*rec)->record(event(15, "r15"));
    REQUIRE(retry.has_value());
    CHECK(retry->event_id == ids[15]);
    CHECK((*rec)->stats().spooled == 20);
    CHECK((*rec)->stats().spool_bytes > 0);
    CHECK_FALSE((*rec)->stats().database_up);
    // The process stops with events still spooled.
  }
  CHECK(fs::file_size(o.spool_path) > hashdb::spool::header_size);

  // Server back, process restarted: the new recorder replays the spool first.
  auto again = hashdb::embedded_server::start(so, &why);
  INFO(why);
  REQUIRE(again.has_value());
  auto rec = hashdb::event_recorder::start(o);
  REQUIRE(rec.has_value());
  REQUIRE((*rec)->wait_drained(60s));
  CHECK((*rec)->stats().replayed == 20);
  CHECK(fs::file_size(o.spool_path) == hashdb::spool::header_size);
  CHECK(stored_ids(url) == std::set<std::string>(ids.begin(), ids.end()));

  // And within one process: stop, spool, restart, drain without restarting the recorder.
  REQUIRE(again->stop().has_value());
  std::vector<std::string> more;
  for (int i = 30; i < 40; ++i) {
    auto r = (*rec)->record(event(i));
    REQUIRE(r.has_value());
    CHECK(r->where == hashdb::durability::spooled);
    more.push_back(r->event_id);
  }
  auto third = hashdb::embedded_server::start(so, &why);
  REQUIRE(third.has_value());
  REQUIRE((*rec)->wait_drained(60s));
  auto after = stored_ids(url);
  for (const auto& id : more) CHECK(after.contains(id));
  CHECK(after.size() == 40);

  // Replayed events kept their order: occurred_at follows the spool order.
  const auto seq = hg_test::column_of(url, "SELECT id::text FROM events ORDER BY occurred_at");
  std::vector<std::string> expected = ids;
  expected.insert(expected.end(), more.begin(), more.end());
  CHECK(seq == expected);
}

TEST_CASE("recorder: concurrent callers share group commits, each answered after its commit") {
  hg_test::test_database db;
  temp_dir dir;
  hashdb::recorder_options o;
  o.database_url = db.url();
  o.spool_path = dir.path / "events.spool";
  o.commit_deadline = 10000ms;  // this test checks grouping, not the deadline
  o.lanes = 1;                  // every zone on one worker: callers must queue behind commits
  auto rec = hashdb::event_recorder::start(o);
  REQUIRE(rec.has_value());
  constexpr int threads = 16;
  constexpr int per_thread = 20;
  std::vector<std::vector<std::string>> ids(threads);
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto r = (*rec)->record(event(t * per_thread + i));
        if (!r || r->where != hashdb::durability::committed) {
          ++failures;
          continue;
        }
        ids[static_cast<std::size_t>(t)].push_back(r->event_id);
        if (i % 5 != 0) continue;
        // Answered only after the commit: the event is already visible to another connection.
        const auto seen = hg_test::column_of(
            db.url(), "SELECT count(*) FROM events WHERE id = '" + r->event_id + "'");
        if (seen != std::vector<std::string>{"1"}) ++failures;
      }
    });
  }
  for (auto& th : pool) th.join();
  CHECK(failures == 0);
  const auto st = (*rec)->stats();
  CHECK(st.committed == threads * per_thread);
  CHECK(st.spooled == 0);
  CHECK(st.batches < st.committed);  // some commits carried several events
  CHECK(stored_ids(db.url()).size() == threads * per_thread);
}

TEST_CASE("recorder: a spool that cannot cut off a failed sync says so, and claims nothing") {
  temp_dir dir;
  hashdb::recorder_options o;
  o.database_url = "postgresql://hashguard@127.0.0.1:1/none?connect_timeout=1";  // never up
  o.spool_path = dir.path / "events.spool";
  o.retry_interval = 100ms;
  std::atomic<bool> disk_fails{false};
  const auto real = hashdb::spool_file_ops::system();
  o.spool.ops.fdatasync = [&](int fd) {
    return disk_fails ? (errno = EIO, -1) : real.fdatasync(fd);
  };
  o.spool.ops.ftruncate = [&](int fd, off_t n) {
    return disk_fails ? (errno = EIO, -1) : real.ftruncate(fd, n);
  };
  auto rec = hashdb::event_recorder::start(o);
  REQUIRE(rec.has_value());
  // The first connection attempt has failed once the recorder spools at once.
  REQUIRE(hg_test::eventually([&] { return !(*rec)->stats().database_up; }, 10s));
  auto kept = (*rec)->record(event(1, "kept"));
  REQUIRE(kept.has_value());
  CHECK(kept->where == hashdb::durability::spooled);
  CHECK((*rec)->stats().spool_writable);

  disk_fails = true;
  CHECK(hg_test::error_of((*rec)->record(event(2, "lost"))) == hashdb::errc::io_error);
  CHECK_FALSE((*rec)->stats().spool_writable);  // what /readyz reads
  disk_fails = false;  // the disk recovers, the file's state stays unknown: still refused
  CHECK(hg_test::error_of((*rec)->record(event(2, "lost"))) == hashdb::errc::io_error);
  CHECK((*rec)->stats().spooled == 1);
}

TEST_CASE("recorder: a record spoiled in the middle of the spool costs only itself") {
  hg_test::test_database db;
  temp_dir dir;
  hashdb::recorder_options o;
  o.database_url = db.url();
  o.spool_path = dir.path / "events.spool";
  // A previous process spooled six events; the disk spoiled the third.
  std::vector<hashdb::match_event> events;
  std::string spoiled;
  {
    auto real = hashdb::spool_file_ops::system();
    hashdb::spool_options so;
    so.ops.pwrite = [&](int fd, const void* data, std::size_t n, off_t off) {
      std::string bytes(static_cast<const char*>(data), n);
      if (!spoiled.empty() && bytes.size() > 8 &&
          bytes.compare(8, std::string::npos, spoiled) == 0) {
        bytes[bytes.size() / 2] ^= 0x20;
      }
      return real.pwrite(fd, bytes.data(), bytes.size(), off);
    };
    auto s = hashdb::spool::open(o.spool_path, so);
    REQUIRE(s.has_value());
    for (int i = 0; i < 6; ++i) {
      auto e = event(i, "spooled-" + std::to_string(i));
      e.id = hashdb::new_uuid();
      e.occurred_us = hashdb::now_us();
      if (i == 2) spoiled = hashdb::to_json(e);
      REQUIRE((*s)->append(hashdb::to_json(e)).has_value());
      events.push_back(e);
    }
  }
  auto rec = hashdb::event_recorder::start(o);
  REQUIRE(rec.has_value());
  REQUIRE((*rec)->wait_drained(60s));
  std::set<std::string> expected;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i != 2) expected.insert(events[i].id);
  }
  CHECK(stored_ids(db.url()) == expected);
  const auto st = (*rec)->stats();
  CHECK(st.replayed == 5);
  CHECK(st.dead_letter == 0);
  CHECK(st.spool_quarantined_bytes == 8 + spoiled.size());
}

TEST_CASE("recorder: a reused request id with other content is an event of its own") {
  hg_test::test_database db;
  temp_dir dir;
  auto rec = start_recorder(db.url(), dir, 10000ms);
  auto first = rec->record(event(3, "req"));
  REQUIRE(first.has_value());
  auto other = rec->record(event(6, "req"));  // same zone (6 % 3 == 3 % 3), other bytes
  REQUIRE(other.has_value());
  CHECK(other->outcome == hashdb::record_outcome::recorded);
  CHECK(other->event_id != first->event_id);
  auto retry = rec->record(event(6, "req"));
  REQUIRE(retry.has_value());
  CHECK(retry->outcome == hashdb::record_outcome::duplicate_request);
  CHECK(retry->event_id == other->event_id);
  CHECK(stored_ids(db.url()) == std::set<std::string>{first->event_id, other->event_id});
}

TEST_CASE("recorder: concurrent repeats of a request are answered an id that is stored") {
  hg_test::test_database db;
  temp_dir dir;
  auto rec = start_recorder(db.url(), dir, 10000ms);
  // Another node recorded request "b" already: this node's first record of it is answered
  // that event's id by the database, and so must every repeat racing with it be.
  record_elsewhere(db, event(4, "b"));
  for (const std::string request : {"a", "b"}) {
    constexpr int callers = 8;
    std::vector<std::string> answered(callers);
    std::vector<std::thread> pool;
    std::atomic<int> failures{0};
    for (int t = 0; t < callers; ++t) {
      pool.emplace_back([&, t] {
        auto r = rec->record(event(4, request));
        if (!r) {
          ++failures;
          return;
        }
        answered[static_cast<std::size_t>(t)] = r->event_id;
      });
    }
    for (auto& th : pool) th.join();
    INFO("request " << request);
    CHECK(failures == 0);
    const std::set<std::string> ids(answered.begin(), answered.end());
    CHECK(ids.size() == 1);
    const auto stored = hg_test::column_of(
        db.url(), "SELECT id::text FROM events WHERE request_id = '" + request + "'");
    REQUIRE(stored.size() == 1);
    CHECK(*ids.begin() == stored[0]);
  }
}

TEST_CASE("recorder: a spooled event is stored under the id it was answered with") {
  // Answered from the spool (deadline 0), while another node records the same request: when
  // the spool is replayed, the id this caller holds must exist.
  hg_test::test_database db;
  temp_dir dir;
  auto rec = start_recorder(db.url(), dir, 0ms);
  record_elsewhere(db, event(5, "same"));
  std::vector<std::string> answered;
  for (int i = 0; i < 5; ++i) {
    auto r = rec->record(event(5, "same"));
    REQUIRE(r.has_value());
    answered.push_back(r->event_id);
  }
  REQUIRE(rec->wait_drained(60s));
  const auto stored = stored_ids(db.url());
  for (const auto& id : answered) CHECK(stored.count(id) == 1);
}
