// Feedback end to end: a StopNCII (fake) exchange with feedback on is synced into PostgreSQL, a
// scan's event matches one of its entries, a reviewer confirms the case, and the queued outcome
// goes back to the fake through exchanges::send_due_feedback: retried with backoff while the fake
// fails, sent once it answers, failed for good after max_attempts; its state on the case each
// time. Also NCMEC's vote for a dismissal. What is sent is the entry's hash and the outcome,
// never the content.
#include "hashguard/exchanges/feedback_sender.hpp"
#include "hashguard/exchanges/ncmec.hpp"
#include "hashguard/exchanges/stopncii.hpp"
#include "hashguard/exchanges/sync.hpp"
#include "hashguard/hashdb/case_queries.hpp"
#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/exchange_store.hpp"

#include "exchange_sync.hpp"
#include "fake_http_server.hpp"
#include "ncmec_fake.hpp"
#include "stopncii_fake.hpp"

#include "hg_catch.hpp"
#include "hg_pg.hpp"

#include <pqxx/pqxx>

#include <thread>

namespace ex = hashguard::exchanges;
namespace hashdb = hashguard::hashdb;
namespace core = hashguard::core;
using namespace std::chrono_literals;

namespace {

std::string scalar(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  return tx.exec1(sql)[0].as<std::string>();
}

// Registers `name` feeding one PDQ list with feedback on, and syncs it from `src` once.
void register_and_sync(hashdb::connection& c, const std::string& name, const std::string& kind,
                       core::harm_type harm, ex::source& src) {
  hashdb::exchange_spec s;
  s.name = name;
  s.kind = kind;
  s.harm = harm;
  s.feedback = true;
  s.feeds.push_back({core::signal::pdq, name + "-pdq", 31, core::action::review});
  REQUIRE(hashdb::exchange_store(c).register_exchange(s).has_value());
  ex::sync_options o;
  o.holder = "test-node";
  ex::sync_driver driver(c, name, src, o);
  auto r = driver.run();
  REQUIRE(r.has_value());
  INFO(r->reason);
  REQUIRE(r->caught_up);
}

// Records a sighting of synthetic content matching the entry with this source id, and returns
// its case (one reviewer decides).
std::int64_t sighting(hashdb::connection& c, const std::string& url, const std::string& name,
                      const std::string& source_id, char content) {
  const auto list =
      std::stoll(scalar(url, "SELECT id FROM hash_lists WHERE name = '" + name + "-pdq'"));
  const auto entry =
      std::stoll(scalar(url, "SELECT id FROM hashes WHERE list_id = " + std::to_string(list) +
                                 " AND source_id = '" + source_id + "'"));
  hashdb::match_event e;
  e.id = hashdb::new_uuid();
  e.zone = "z";
  e.node = "n";
  e.sha256 = std::string(64, content);
  e.act = core::action::review;
  hashdb::event_hit h;
  h.list_id = list;
  h.entry_id = entry;
  h.sig = core::signal::pdq;
  h.distance = 2;
  h.threshold = 31;
  e.hits.push_back(h);
  hashdb::case_options one;
  one.required_confirmations = 1;
  auto rec = hashdb::case_store(c, one).record(e);
  REQUIRE(rec.has_value());
  REQUIRE(rec->case_id.has_value());
  return *rec->case_id;
}

void decide(hashdb::connection& c, std::int64_t case_id, hashdb::decision_kind kind) {
  hashdb::decision_input d;
  d.case_id = case_id;
  d.reviewer_key_id = 1;
  d.kind = kind;
  d.note = "checked";
  auto r = hashdb::case_store(c, {}).decide(d, "k_rev1");
  INFO(c.last_error());
  REQUIRE(r.has_value());
}

hashdb::feedback_record feedback_of(hashdb::connection& c, std::int64_t case_id) {
  auto d = hashdb::review_store(c).detail(case_id);
  REQUIRE(d.has_value());
  REQUIRE(d->feedback.size() == 1);
  return d->feedback[0];
}

ex::feedback_options quick() {
  ex::feedback_options o;
  o.base_delay = 1ms;
  o.max_delay = 2ms;
  o.max_attempts = 3;
  return o;
}

}  // namespace

TEST_CASE(
    "feedback: a confirmed StopNCII match is queued, retried while the source fails, sent "
    "once it answers, and shown on the case") {
  hg_test::test_database db;
  auto c = db.connect();
  hg_fakes::stopncii_fake fake{"sub-key", "fetch-key", "feedback-key"};
  fake.generate(3, 1000, 10);
  hg_test::fake_http_server server{[&](const hg_test::fake_request& r) { return fake.handle(r); }};
  ex::stopncii_settings s;
  s.base_url = server.base_url() + "/v1";
  s.subscription_key = "sub-key";
  s.fetch_function_key = "fetch-key";
  s.feedback_function_key = "feedback-key";
  s.retry = hg_exchange_test::quick_retries();
  auto src = ex::make_stopncii_source(s);
  REQUIRE(src.has_value());
  register_and_sync(c, "sn", "stopncii", core::harm_type::ncii, **src);

  const std::string hash = hg_fakes::stopncii_fake::generated(1, 1000, 10).hash;
  const auto case_id = sighting(c, db.url(), "sn", hash, 'c');
  // Nothing before the decision.
  auto none = ex::send_due_feedback(c, "sn", **src, quick());
  REQUIRE(none.has_value());
  CHECK(none->sent + none->retrying + none->failed == 0);
  decide(c, case_id, hashdb::decision_kind::confirmed);  // ncii: no classification

  fake.fail_feedback(1000);
  auto failing = ex::send_due_feedback(c, "sn", **src, quick());
  REQUIRE(failing.has_value());
  CHECK(failing->retrying == 1);
  auto f = feedback_of(c, case_id);
  CHECK(f.status == "pending");
  CHECK(f.attempts == 1);
  CHECK(f.exchange == "sn");
  CHECK(f.source_id == hash);
  CHECK_FALSE(f.last_error.empty());
  CHECK(f.last_error.find("feedback-key") == std::string::npos);  // never a credential
  CHECK(fake.feedback_bodies().empty());

  fake.fail_feedback(0);
  std::this_thread::sleep_for(20ms);  // past the (test-sized) backoff
  auto ok = ex::send_due_feedback(c, "sn", **src, quick());
  REQUIRE(ok.has_value());
  CHECK(ok->sent == 1);
  f = feedback_of(c, case_id);
  CHECK(f.status == "sent");
  CHECK(f.attempts == 2);
  CHECK(f.sent_at.has_value());
  CHECK(f.last_error.empty());
  const auto bodies = fake.feedback_bodies();
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0].find(hash) != std::string::npos);
  CHECK(bodies[0].find("\"Blocked\"") != std::string::npos);
  CHECK(bodies[0].find(std::string(64, 'c')) == std::string::npos);  // not the content's digest
  // Sent once: nothing more to send.
  CHECK(ex::send_due_feedback(c, "sn", **src, quick()).value().sent == 0);

  // Another case whose source keeps failing: failed for good after max_attempts.
  const std::string other = hg_fakes::stopncii_fake::generated(2, 1000, 10).hash;
  const auto second = sighting(c, db.url(), "sn", other, 'd');
  decide(c, second, hashdb::decision_kind::confirmed);
  fake.fail_feedback(1000);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(ex::send_due_feedback(c, "sn", **src, quick()).has_value());
    std::this_thread::sleep_for(20ms);
  }
  f = feedback_of(c, second);
  CHECK(f.status == "failed");
  CHECK(f.attempts == 3);
}

TEST_CASE("feedback: a dismissed NCMEC match is voted down") {
  hg_test::test_database db;
  auto c = db.connect();
  hg_fakes::ncmec_fake fake{"user", "pw"};
  const auto now = hg_exchange_test::now_s();
  hg_fakes::ncmec_entry e;
  e.id = "4242";
  e.timestamp = now - 3600;
  e.fingerprints = {{"pdq", std::string(64, 'e')}};
  fake.upsert({e});
  hg_test::fake_http_server server{[&](const hg_test::fake_request& r) { return fake.handle(r); }};
  ex::ncmec_settings s;
  s.base_url = server.base_url();
  s.username = "user";
  s.password = "pw";
  s.start_time = now - 7200;
  s.settle = std::chrono::seconds(0);
  s.min_window = std::chrono::seconds(0);
  s.retry = hg_exchange_test::quick_retries();
  auto src = ex::make_ncmec_source(s);
  REQUIRE(src.has_value());
  register_and_sync(c, "nc", "ncmec", core::harm_type::csam, **src);
  const auto case_id = sighting(c, db.url(), "nc", "1-4242", 'f');
  decide(c, case_id, hashdb::decision_kind::false_positive);
  auto r = ex::send_due_feedback(c, "nc", **src, quick());
  REQUIRE(r.has_value());
  CHECK(r->sent == 1);
  const auto votes = fake.votes();
  REQUIRE(votes.size() == 1);
  CHECK(votes[0].member == "1");
  CHECK(votes[0].id == "4242");
  CHECK(votes[0].type == "PDQ");
  CHECK(votes[0].body.find("negative") != std::string::npos);
  CHECK(feedback_of(c, case_id).status == "sent");
}
