// The StopNCII source against the fake StopNCII server over real sockets.
#include "hashguard/exchanges/stopncii.hpp"

#include "exchange_sync.hpp"
#include "fake_http_server.hpp"
#include "stopncii_fake.hpp"

#include "hg_catch.hpp"

#include <thread>

namespace ex = hashguard::exchanges;
using namespace hg_exchange_test;

namespace {

struct stopncii_fixture {
  hg_fakes::stopncii_fake fake{"sub-key", "fetch-key", "feedback-key"};
  hg_test::fake_http_server server{
      [this](const hg_test::fake_request& r) { return fake.handle(r); }};

  stopncii_fixture() {
    fake.generate(23, 1000, 10);
    fake.upsert({{"VideoMD5", std::string(32, 'A'), 1005, "Active", {"csp"}, {"nudity"}}});
    hg_fakes::knobs k;
    k.page_size = 5;
    fake.set_knobs(k);
  }

  [[nodiscard]] std::unique_ptr<ex::source> source(std::string fetch_key = "fetch-key") const {
    ex::stopncii_settings s;
    s.base_url = server.base_url() + "/v1";
    s.subscription_key = "sub-key";
    s.fetch_function_key = std::move(fetch_key);
    s.feedback_function_key = "feedback-key";
    s.retry = quick_retries();
    auto src = ex::make_stopncii_source(s);
    REQUIRE(src.has_value());
    return std::move(*src);
  }

  static state expected() {
    state s;
    for (std::uint64_t i = 0; i < 23; ++i) {
      const auto h = hg_fakes::stopncii_fake::generated(i, 1000, 10).hash;
      s[{h, "pdq"}] = h;
    }
    s[{std::string(32, 'a'), "md5"}] = std::string(32, 'a');
    return s;
  }
};

}  // namespace

TEST_CASE("stopncii source: a full sync equals the seeded set and every checkpoint resumes") {
  stopncii_fixture f;
  auto src = f.source();
  CHECK(src->kind() == "stopncii");
  state full;
  const auto run = sync(*src, full, "");
  REQUIRE(run.has_value());
  CHECK(full == f.expected());
  CHECK(run->pages.size() == 5);
  for (std::size_t i = 0; i + 1 < run->checkpoints.size(); ++i) {
    state s;
    for (std::size_t k = 0; k <= i; ++k) apply_page(s, run->pages[k]);
    REQUIRE(sync(*f.source(), s, run->checkpoints[i]).has_value());
    CHECK(s == f.expected());
  }
  // Caught up: the next sync delivers nothing new.
  const auto again = src->fetch(run->last);
  REQUIRE(again.has_value());
  CHECK(again->entries.empty());
  CHECK_FALSE(again->more);
}

TEST_CASE("stopncii source: a withdrawn hash is deleted") {
  stopncii_fixture f;
  auto src = f.source();
  state s;
  auto run = sync(*src, s, "");
  REQUIRE(run.has_value());
  f.fake.withdraw(std::string(32, 'A'), 5000);
  REQUIRE(sync(*src, s, run->last).has_value());
  auto want = f.expected();
  want.erase({std::string(32, 'a'), "md5"});
  CHECK(s == want);
}

TEST_CASE("stopncii source: 429 and 5xx are retried and a malformed page is bad_page") {
  stopncii_fixture f;
  hg_fakes::knobs k;
  k.page_size = 5;
  k.rate_limit_next = 2;
  k.server_error_next = 2;
  k.server_error_status = 502;
  f.fake.set_knobs(k);
  auto src = f.source();
  auto first = src->fetch("");
  REQUIRE(first.has_value());
  k.rate_limit_next = 0;
  k.server_error_next = 0;
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

TEST_CASE("stopncii source: a wrong or expired key is unauthorized") {
  stopncii_fixture f;
  const auto wrong = f.source("nope")->fetch("");
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error() == ex::errc::unauthorized);
  hg_fakes::knobs k;
  k.page_size = 5;
  k.expire_after = 0;
  f.fake.set_knobs(k);
  CHECK(f.source()->fetch("").error() == ex::errc::unauthorized);
}

TEST_CASE("stopncii source: feedback reaches the fake") {
  stopncii_fixture f;
  auto src = f.source();
  REQUIRE(src->takes_feedback());
  REQUIRE(src->send_feedback({"x", "pdq", std::string(64, 'b'), false, "not_ncii"}).has_value());
  const auto bodies = f.fake.feedback_bodies();
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0].find("\"NotBlocked\"") != std::string::npos);
  CHECK(bodies[0].find(std::string(64, 'b')) != std::string::npos);
}

TEST_CASE("stopncii source: cancel ends a slow fetch promptly") {
  stopncii_fixture f;
  hg_fakes::knobs k;
  k.delay = std::chrono::milliseconds(3000);
  f.fake.set_knobs(k);
  CHECK(fetch_is_cancelled_promptly(*f.source()));
}
