#include "hashguard/exchanges/config.hpp"

#include "hg_catch.hpp"

using namespace hashguard;

namespace {

// Secrets from two fixed tables instead of the machine's files and environment.
exchanges::secret_reader fixed_secrets() {
  exchanges::secret_reader r;
  r.file = [](const std::string& path) -> std::optional<std::string> {
    if (path == "/run/secrets/ncmec") return "s3cret-token";
    return std::nullopt;
  };
  r.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HG_TE_TOKEN") return "te-token";
    return std::nullopt;
  };
  return r;
}

exchanges::config_problem problem_of(const std::string& text) {
  exchanges::config_problem p;
  auto r = exchanges::parse_exchanges(text, fixed_secrets(), &p);
  CHECK(r.error() == exchanges::errc::bad_config);
  return p;
}

}  // namespace

TEST_CASE("exchanges file: sections, feeds, credentials from files or the environment") {
  const std::string text = R"(# two exchanges
[exchange ncmec-test]
kind = ncmec
url = https://example.invalid/v2
credential_file = /run/secrets/ncmec
interval_s = 600
feed.pdq = ncmec-pdq threshold=20 action=review
feed.md5 = ncmec-md5 action=block   # exact digests
feedback = true

[exchange gifct]
kind = threatexchange
credential_env = HG_TE_TOKEN
harm_type = tvec
feed.pdq = gifct-pdq
reshare = yes
setting.privacy_group = 12345
)";
  exchanges::config_problem p;
  auto r = exchanges::parse_exchanges(text, fixed_secrets(), &p);
  INFO(p.line << ": " << p.message);
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 2);
  const auto& n = (*r)[0];
  CHECK(n.name == "ncmec-test");
  CHECK(n.kind == "ncmec");
  CHECK(n.credential == "s3cret-token");
  CHECK(n.interval == std::chrono::seconds(600));
  CHECK(n.harm == core::harm_type::csam);
  REQUIRE(n.feeds.size() == 2);
  CHECK(n.feeds[0].list == "ncmec-pdq");
  CHECK(n.feeds[0].threshold == 20);
  CHECK(n.feeds[1].sig == core::signal::md5);
  CHECK(n.feeds[1].act == core::action::block);
  CHECK(n.feedback);
  CHECK_FALSE(n.reshare);
  const auto& g = (*r)[1];
  CHECK(g.credential == "te-token");
  CHECK(g.harm == core::harm_type::tvec);
  CHECK(g.feeds[0].threshold == core::default_threshold(core::signal::pdq));
  CHECK(g.reshare);
  CHECK(g.settings.at("privacy_group") == "12345");
}

TEST_CASE("exchanges file: errors name the line and never echo a credential") {
  const std::string head = "[exchange x]\nkind = folder\nfeed.pdq = x-pdq\n";
  auto p = problem_of(head + "credential = hunter2\n");
  CHECK(p.line == 4);
  CHECK(p.message.find("hunter2") == std::string::npos);
  CHECK(problem_of(head + "credential_file = /nope\n").line == 4);
  CHECK(problem_of(head + "credential_env = HG_UNSET\n").line == 4);
  CHECK(problem_of(head + "colour = blue\n").message.find("colour") != std::string::npos);
  CHECK(problem_of(head + "feed.pdq = again\n").line == 4);
  CHECK(problem_of(head + "feed.tmk = x\n").line == 4);
  CHECK(problem_of(head + "harm_type = spam\n").line == 4);
  CHECK(problem_of("[exchange x]\nfeed.md5 = x threshold=3\n").line == 2);
  CHECK(problem_of("kind = folder\n").line == 1);
  CHECK(problem_of(head + "[exchange x]\nkind = folder\nfeed.pdq = y\n").line == 4);
  CHECK(problem_of("[exchange y]\nkind = folder\n").message.find("feeds no list") !=
        std::string::npos);
}
