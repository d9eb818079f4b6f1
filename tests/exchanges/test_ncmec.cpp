// The NCMEC source against the fake NCMEC server over real sockets.
#include "hashguard/exchanges/ncmec.hpp"

#include "exchange_sync.hpp"
#include "fake_http_server.hpp"
#include "ncmec_fake.hpp"

#include "hg_catch.hpp"

#include <chrono>
#include <thread>

namespace ex = hashguard::exchanges;
using namespace hg_exchange_test;

namespace {

struct ncmec_fixture {
  hg_fakes::ncmec_fake fake{"user", "s3cret-pass"};
  hg_test::fake_http_server server{
      [this](const hg_test::fake_request& r) { return fake.handle(r); }};
  std::int64_t t0 = now_s() - 100000;

  ncmec_fixture() {
    fake.generate(40, t0, 100);  // t0 .. t0 + 3900
    fake.upsert(
        {{7,
          "img-7",
          t0 + 50,
          false,
          false,
          "B1",
          {{"sha1", std::string(40, 'E')}, {"pdna", "AAEC=="}},
          {}},
         {8, "vid-8", t0 + 60, true, false, "A1", {{"md5", std::string(32, '1')}}, {"md5"}}});
    hg_fakes::knobs k;
    k.page_size = 7;
    fake.set_knobs(k);
  }

  [[nodiscard]] ex::ncmec_settings settings(std::string password = "s3cret-pass") const {
    ex::ncmec_settings s;
    s.base_url = server.base_url();
    s.username = "user";
    s.password = std::move(password);
    s.start_time = t0 - 10;
    s.max_window_entries = 20;  // the 42 entries need narrowed windows
    s.settle = std::chrono::seconds(0);
    s.min_window = std::chrono::seconds(0);
    s.retry = quick_retries();
    return s;
  }

  [[nodiscard]] std::unique_ptr<ex::source> source(std::string password = "s3cret-pass") const {
    auto s = ex::make_ncmec_source(settings(std::move(password)));
    REQUIRE(s.has_value());
    return std::move(*s);
  }

  [[nodiscard]] state expected() const {
    state s;
    for (std::uint64_t i = 0; i < 40; ++i) {
      const auto e = hg_fakes::ncmec_fake::generated(i, t0, 100);
      for (const auto& [type, text] : e.fingerprints) s[{"1-" + e.id, type}] = text;
    }
    s[{"7-img-7", "sha1"}] = std::string(40, 'e');
    s[{"7-img-7", "pdna"}] = "AAEC==";
    s[{"8-vid-8", "md5"}] = std::string(32, '1');
    return s;
  }
};

}  // namespace

TEST_CASE("ncmec source: a full sync across windows and pages equals the seeded set") {
  ncmec_fixture f;
  auto src = f.source();
  CHECK(src->kind() == "ncmec");
  state s;
  const auto run = sync(*src, s, "");
  REQUIRE(run.has_value());
  CHECK(s == f.expected());
  CHECK(run->pages.size() > 3);
  CHECK_FALSE(run->pages.back().more);
}

TEST_CASE("ncmec source: a sync resumed from every intermediate checkpoint ends at the same set") {
  ncmec_fixture f;
  auto src = f.source();
  state full;
  const auto run = sync(*src, full, "");
  REQUIRE(run.has_value());
  for (std::size_t i = 0; i + 1 < run->checkpoints.size(); ++i) {
    state s;
    for (std::size_t k = 0; k <= i; ++k) apply_page(s, run->pages[k]);
    auto fresh = f.source();
    REQUIRE(sync(*fresh, s, run->checkpoints[i]).has_value());
    CHECK(s == f.expected());
  }
}

TEST_CASE("ncmec source: deletions and updates after a sync apply") {
  ncmec_fixture f;
  auto src = f.source();
  state s;
  auto run = sync(*src, s, "");
  REQUIRE(run.has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the next window is not empty
  const auto t = now_s() - 1;
  f.fake.remove(7, "img-7", t);
  f.fake.upsert({{8, "vid-8", t, true, false, "A2", {{"md5", std::string(32, '2')}}, {}}});
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  REQUIRE(sync(*src, s, run->last).has_value());
  auto want = f.expected();
  want.erase({"7-img-7", "sha1"});
  want.erase({"7-img-7", "pdna"});
  want[{"8-vid-8", "md5"}] = std::string(32, '2');
  CHECK(s == want);
}

TEST_CASE("ncmec source: 429 and 5xx bursts are retried") {
  ncmec_fixture f;
  hg_fakes::knobs k;
  k.page_size = 7;
  k.rate_limit_next = 2;
  k.server_error_next = 2;  // four failures in a row: the fifth try succeeds
  f.fake.set_knobs(k);
  auto src = f.source();
  state s;
  REQUIRE(sync(*src, s, "").has_value());
  CHECK(s == f.expected());
}

TEST_CASE("ncmec source: a malformed page is bad_page and its checkpoint resumes") {
  ncmec_fixture f;
  auto src = f.source();
  auto first = src->fetch("");
  REQUIRE(first.has_value());
  hg_fakes::knobs k;
  k.page_size = 7;
  k.malformed_next = 1;
  f.fake.set_knobs(k);
  const auto bad = src->fetch(first->checkpoint);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == ex::errc::bad_page);
  state s;
  apply_page(s, *first);
  REQUIRE(sync(*src, s, first->checkpoint).has_value());
  CHECK(s == f.expected());
}

TEST_CASE("ncmec source: refused or expired credentials are unauthorized and never in the error") {
  ncmec_fixture f;
  const auto wrong = f.source("wrong-pass")->fetch("");
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error() == ex::errc::unauthorized);
  CHECK(wrong.error().message().find("wrong-pass") == std::string::npos);
  hg_fakes::knobs k;
  k.page_size = 7;
  k.expire_after = 2;  // the credentials expire in the middle of the sync
  f.fake.set_knobs(k);
  auto src = f.source();
  state s;
  const auto run = sync(*src, s, "");
  REQUIRE_FALSE(run.has_value());
  CHECK(run.error() == ex::errc::unauthorized);
  CHECK_FALSE(ex::make_ncmec_source({}).has_value());
}

TEST_CASE("ncmec source: votes reach the fake") {
  ncmec_fixture f;
  auto src = f.source();
  REQUIRE(src->takes_feedback());
  REQUIRE(src->send_feedback({"1-g3", "pdq", std::string(64, 'a'), true, ""}).has_value());
  REQUIRE(
      src->send_feedback({"7-img-7", "sha1", std::string(40, 'e'), false, "not_csam"}).has_value());
  const auto votes = f.fake.votes();
  REQUIRE(votes.size() == 2);
  CHECK(votes[0].member == "1");
  CHECK(votes[0].id == "g3");
  CHECK(votes[0].type == "PDQ");
  CHECK(votes[0].body.find("<affirmative/>") != std::string::npos);
  CHECK(votes[1].type == "SHA1");
  CHECK(votes[1].body.find("<guid>01234567-abcd-0123-4567-012345678900</guid>") !=
        std::string::npos);
}

TEST_CASE("ncmec source: cancel ends a slow fetch promptly") {
  ncmec_fixture f;
  hg_fakes::knobs k;
  k.delay = std::chrono::milliseconds(3000);
  f.fake.set_knobs(k);
  CHECK(fetch_is_cancelled_promptly(*f.source()));
}
