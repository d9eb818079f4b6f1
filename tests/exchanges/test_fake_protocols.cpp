// The fake exchange servers' protocol logic (tests/fakes), called as functions: what each
// serves is what the wire layer reads, paging covers the seeded set exactly once, and every
// knob does what it says.
#include "hashguard/exchanges/ncmec_wire.hpp"
#include "hashguard/exchanges/stopncii_wire.hpp"
#include "hashguard/exchanges/threatexchange_wire.hpp"
#include "ncmec_fake.hpp"
#include "stopncii_fake.hpp"
#include "threatexchange_fake.hpp"

#include "hg_catch.hpp"

#include <chrono>
#include <set>
#include <string>

namespace ex = hashguard::exchanges;

namespace {

hg_test::fake_request get(std::string target,
                          std::vector<std::pair<std::string, std::string>> h = {}) {
  hg_test::fake_request r;
  r.method = "GET";
  r.target = std::move(target);
  r.headers = std::move(h);
  return r;
}

std::string strip_base(const std::string& url) {  // "http://host/x" -> "/x"
  return url.substr(url.find('/', url.find("//") + 2));
}

}  // namespace

TEST_CASE("ncmec fake: a window pages through every entry once, not in time order") {
  hg_fakes::ncmec_fake fake("user", "pw");
  fake.generate(25, 1000, 10);  // timestamps 1000..1240
  fake.upsert({{7, "x1", 1100, false, false, "A2", {{"sha1", std::string(40, 'e')}}, {"sha1"}}});
  hg_fakes::knobs k;
  k.page_size = 4;
  fake.set_knobs(k);
  const std::vector<std::pair<std::string, std::string>> auth{
      {"Authorization", hg_fakes::basic_auth("user", "pw")}};
  CHECK(fake.handle(get(strip_base(ex::ncmec::entries_url("http://h", 0, 2000)))).status == 401);

  std::string target = strip_base(ex::ncmec::entries_url("http://h", 0, 2000));
  std::set<std::string> ids;
  std::vector<std::string> order;
  for (int pages = 0; pages < 20; ++pages) {
    const auto resp = fake.handle(get(target, auth));
    REQUIRE(resp.status == 200);
    const auto page = ex::ncmec::parse_entries(resp.body);
    REQUIRE(page.has_value());
    for (const auto& e : page->entries) {
      if (e.signal == "pdq" || e.signal == "sha1") {
        CHECK(ids.insert(e.source_id).second);
        order.push_back(e.source_id);
      }
      if (e.source_id == "7-x1") CHECK(e.opinion == "disputed");
    }
    if (page->next.empty()) break;
    if (pages == 0) CHECK(page->estimated_total == 26);
    target = page->next;
  }
  CHECK(ids.size() == 26);
  CHECK(order.front() != "1-g0");  // newest generated first: not in time order
  // A narrower window holds only its entries.
  const auto part = ex::ncmec::parse_entries(
      fake.handle(get(strip_base(ex::ncmec::entries_url("http://h", 1000, 1030)), auth)).body);
  REQUIRE(part.has_value());
  CHECK(part->entries.size() == 6);  // g0..g2, pdq + md5 each
}

TEST_CASE("ncmec fake: deletions, votes, knobs") {
  hg_fakes::ncmec_fake fake("u", "p");
  fake.upsert({hg_fakes::ncmec_fake::generated(0, 100, 1)});
  fake.remove(1, "g0", 150);
  const std::vector<std::pair<std::string, std::string>> auth{
      {"Authorization", hg_fakes::basic_auth("u", "p")}};
  const auto page = ex::ncmec::parse_entries(
      fake.handle(get(strip_base(ex::ncmec::entries_url("http://h", 0, 200)), auth)).body);
  REQUIRE(page.has_value());
  REQUIRE_FALSE(page->entries.empty());
  CHECK(page->entries[0].deleted);

  hg_test::fake_request put;
  put.method = "PUT";
  put.target = "/v2/entries/1/g0/PDQ/feedback";
  put.headers = auth;
  put.body = ex::ncmec::feedback_body(true, "");
  CHECK(fake.handle(put).status == 200);
  REQUIRE(fake.votes().size() == 1);
  CHECK(fake.votes()[0].type == "PDQ");
  const auto reasons =
      ex::ncmec::parse_feedback_reasons(fake.handle(get("/v2/feedback/PDQ/reasons", auth)).body);
  REQUIRE(reasons.has_value());
  CHECK(reasons->size() == 1);

  hg_fakes::knobs k;
  k.rate_limit_next = 1;
  k.server_error_next = 1;
  k.malformed_next = 1;
  k.expire_after = 1;
  k.delay = std::chrono::milliseconds(5);
  fake.set_knobs(k);
  const auto target = strip_base(ex::ncmec::entries_url("http://h", 0, 200));
  const auto limited = fake.handle(get(target, auth));
  CHECK(limited.status == 429);
  CHECK(limited.headers.at(0) == std::pair<std::string, std::string>{"Retry-After", "1"});
  CHECK(limited.delay == std::chrono::milliseconds(5));
  CHECK(fake.handle(get(target, auth)).status == 503);
  const auto cut = fake.handle(get(target, auth));
  CHECK(cut.status == 200);
  CHECK_FALSE(ex::ncmec::parse_entries(cut.body).has_value());
  CHECK(fake.handle(get(target, auth)).status == 401);  // expired
}

TEST_CASE("stopncii fake: runs page by token, withdrawals, keys, feedback") {
  hg_fakes::stopncii_fake fake("sub", "fetch", "feed");
  fake.generate(7, 100, 10);  // 100..160
  fake.upsert({{"VideoMD5", std::string(32, 'c'), 120, "Active", {"csp"}, {"t"}}});
  hg_fakes::knobs k;
  k.page_size = 3;
  fake.set_knobs(k);
  const ex::stopncii::keys keys{"sub", "fetch", "feed"};
  auto to_fake = [](const hashguard::outbound::request& r) {
    hg_test::fake_request f;
    f.method = r.method;
    f.target = strip_base(r.url);
    for (const auto& h : r.headers) f.headers.emplace_back(h.name, h.value);
    f.body = r.body;
    return f;
  };
  CHECK(
      fake.handle(to_fake(ex::stopncii::fetch_request("http://h/v1", {"sub", "bad", ""}, 0, 3, "")))
          .status == 401);
  std::string token;
  std::set<std::string> seen;
  std::int64_t next_set = 0;
  for (int i = 0; i < 10; ++i) {
    const auto resp =
        fake.handle(to_fake(ex::stopncii::fetch_request("http://h/v1", keys, 0, 3, token)));
    REQUIRE(resp.status == 200);
    const auto page = ex::stopncii::parse_fetch_answer(resp.body);
    REQUIRE(page.has_value());
    for (const auto& e : page->entries) CHECK(seen.insert(e.value).second);
    next_set = page->next_set_timestamp;
    if (!page->has_more) break;
    token = page->next_page_token;
  }
  CHECK(seen.size() == 8);
  CHECK(next_set == 160);
  fake.withdraw(std::string(32, 'c'), 170);
  const auto after = ex::stopncii::parse_fetch_answer(
      fake.handle(to_fake(ex::stopncii::fetch_request("http://h/v1", keys, next_set, 3, ""))).body);
  REQUIRE(after.has_value());
  REQUIRE(after->entries.size() == 1);
  CHECK(after->entries[0].deleted);
  CHECK(after->next_set_timestamp == 170);

  const auto fb = ex::stopncii::feedback_request("http://h/v1", keys,
                                                 {"x", "pdq", std::string(64, 'a'), true, ""});
  REQUIRE(fb.has_value());
  CHECK(fake.handle(to_fake(*fb)).status == 200);
  CHECK(fake.feedback_bodies().size() == 1);
}

TEST_CASE("threatexchange fake: cursor paging, deletions, the token error") {
  hg_fakes::threatexchange_fake fake("123|secret", "777");
  const std::int64_t t0 = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() -
                          1000;  // deletions are served 90 days
  fake.generate(5, t0, 1);
  fake.upsert({{"55", std::string(32, 'f'), "HASH_MD5", t0 + 2, false, "MALICIOUS", {"tvec"}}});
  fake.remove("55", t0 + 3);
  hg_fakes::knobs k;
  k.page_size = 2;
  fake.set_knobs(k);
  auto target = [](std::string_view token, std::int64_t start, const std::string& after) {
    return strip_base(
        ex::threatexchange::updates_request("http://h/v21.0", token, "777", start, after, 2, "")
            .url);
  };
  const auto denied = fake.handle(get(target("wrong", 0, "")));
  CHECK(ex::threatexchange::is_token_error(denied.status, denied.body));
  std::string after;
  std::set<std::string> ids;
  bool deleted_seen = false;
  for (int i = 0; i < 10; ++i) {
    const auto page =
        ex::threatexchange::parse_updates(fake.handle(get(target("123|secret", 0, after))).body);
    REQUIRE(page.has_value());
    for (const auto& e : page->entries) {
      ids.insert(e.source_id);
      deleted_seen = deleted_seen || (e.source_id == "55" && e.deleted);
    }
    if (page->after.empty()) break;
    after = page->after;
  }
  CHECK(ids.size() == 6);
  CHECK(deleted_seen);
  const auto later =
      ex::threatexchange::parse_updates(fake.handle(get(target("123|secret", t0 + 3, ""))).body);
  REQUIRE(later.has_value());
  CHECK(later->entries.size() == 2);  // of 3: g3, 55 (deleted), g4
  CHECK_FALSE(later->after.empty());
}
