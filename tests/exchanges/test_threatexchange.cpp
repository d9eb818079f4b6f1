// The ThreatExchange source against the fake Graph API over real sockets.
#include "hashguard/exchanges/threatexchange.hpp"
#include "hashguard/exchanges/threatexchange_wire.hpp"

#include "exchange_sync.hpp"
#include "fake_http_server.hpp"
#include "threatexchange_fake.hpp"

#include "hg_catch.hpp"

#include <chrono>

namespace ex = hashguard::exchanges;
using namespace hg_exchange_test;

namespace {

struct te_fixture {
  hg_fakes::threatexchange_fake fake{"123|app-secret", "4242"};
  hg_test::fake_http_server server{
      [this](const hg_test::fake_request& r) { return fake.handle(r); }};
  std::int64_t t0 = now_s() - 5000;

  te_fixture() {
    fake.generate(17, t0, 10);
    fake.upsert(
        {{"md5-1", std::string(32, 'C'), "HASH_VIDEO_MD5", t0 + 5, false, "MALICIOUS", {"tvec"}}});
    hg_fakes::knobs k;
    k.page_size = 4;
    fake.set_knobs(k);
  }

  [[nodiscard]] std::unique_ptr<ex::source> source(std::string token = "123|app-secret") const {
    ex::threatexchange_settings s;
    s.base_url = server.base_url() + "/v21.0";
    s.access_token = std::move(token);
    s.privacy_group = "4242";
    s.page_size = 4;
    s.retry = quick_retries();
    auto src = ex::make_threatexchange_source(s);
    REQUIRE(src.has_value());
    return std::move(*src);
  }

  [[nodiscard]] state expected() const {
    state s;
    for (std::uint64_t i = 0; i < 17; ++i) {
      const auto u = hg_fakes::threatexchange_fake::generated(i, t0, 10);
      s[{u.id, "pdq"}] = u.indicator;
    }
    s[{"md5-1", "md5"}] = std::string(32, 'c');
    return s;
  }
};

}  // namespace

TEST_CASE("threatexchange source: a full sync equals the group and every checkpoint resumes") {
  te_fixture f;
  auto src = f.source();
  CHECK(src->kind() == "threatexchange");
  CHECK_FALSE(src->takes_feedback());
  state full;
  const auto run = sync(*src, full, "");
  REQUIRE(run.has_value());
  CHECK(full == f.expected());
  CHECK(run->pages.size() == 5);
  for (const auto& cp : run->checkpoints) CHECK(cp.find("app-secret") == std::string::npos);
  for (std::size_t i = 0; i + 1 < run->checkpoints.size(); ++i) {
    state s;
    for (std::size_t k = 0; k <= i; ++k) apply_page(s, run->pages[k]);
    REQUIRE(sync(*f.source(), s, run->checkpoints[i]).has_value());
    CHECK(s == f.expected());
  }
}

TEST_CASE(
    "threatexchange source: should_delete updates delete and the next run starts at the last "
    "update") {
  te_fixture f;
  auto src = f.source();
  state s;
  auto run = sync(*src, s, "");
  REQUIRE(run.has_value());
  f.fake.remove("md5-1", now_s());
  REQUIRE(sync(*src, s, run->last).has_value());
  auto want = f.expected();
  want.erase({"md5-1", "md5"});
  CHECK(s == want);
  const auto starts = f.fake.start_times();
  CHECK(starts.back() == f.t0 + 160);  // the latest last_updated of the first run
}

TEST_CASE("threatexchange source: a checkpoint older than 85 days restarts the full fetch") {
  te_fixture f;
  auto src = f.source();
  ex::threatexchange::checkpoint old{f.t0 + 100, "", f.t0 + 100, now_s() - 86 * 24 * 3600};
  const auto p = src->fetch(ex::threatexchange::encode_checkpoint(old));
  REQUIRE(p.has_value());
  CHECK(p->restart);
  CHECK(f.fake.start_times().back() == -1);  // from the beginning
  state s;
  apply_page(s, *p);
  const auto rest = sync(*src, s, p->checkpoint);
  REQUIRE(rest.has_value());
  for (const auto& page : rest->pages) CHECK_FALSE(page.restart);
  CHECK(s == f.expected());
}

TEST_CASE("threatexchange source: 429 and 5xx are retried and a malformed page is bad_page") {
  te_fixture f;
  hg_fakes::knobs k;
  k.page_size = 4;
  k.rate_limit_next = 1;
  k.server_error_next = 2;
  k.server_error_status = 500;
  f.fake.set_knobs(k);
  auto src = f.source();
  auto first = src->fetch("");
  REQUIRE(first.has_value());
  k.rate_limit_next = 0;
  k.server_error_next = 0;
  k.malformed_next = 1;
  f.fake.set_knobs(k);
  CHECK(src->fetch(first->checkpoint).error() == ex::errc::bad_page);
  state s;
  apply_page(s, *first);
  REQUIRE(sync(*src, s, first->checkpoint).has_value());
  CHECK(s == f.expected());
}

TEST_CASE("threatexchange source: an invalid or expired token is unauthorized") {
  te_fixture f;
  CHECK(f.source("123|wrong")->fetch("").error() == ex::errc::unauthorized);
  hg_fakes::knobs k;
  k.page_size = 4;
  k.expire_after = 1;
  f.fake.set_knobs(k);
  auto src = f.source();
  auto p = src->fetch("");
  REQUIRE(p.has_value());
  CHECK(src->fetch(p->checkpoint).error() == ex::errc::unauthorized);
  CHECK(src->send_feedback({}).error() == ex::errc::unsupported);
}
