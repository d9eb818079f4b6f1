#include "hashguard/exchanges/peer_wire.hpp"

#include "hashguard/exchanges/config.hpp"
#include "hashguard/exchanges/registry.hpp"

#include "hg_catch.hpp"

using namespace hashguard;

namespace {

const std::string pdq_a(64, 'a');

std::string answer(const std::string& changes, const std::string& next = "12.7",
                   const std::string& more = "true", const std::string& signal = "pdq") {
  return R"({"list":{"id":3,"name":"p","signal":")" + signal +
         R"(","version":4,"enabled":true,"retired":false},"changes":[)" + changes +
         R"(],"next":")" + next + R"(","more":)" + more + "}";
}

}  // namespace

TEST_CASE("peer wire: the request names the list, cursor, limit and bearer key") {
  const auto r = exchanges::peer::changes_request("http://h:1", "partner pdq", "k-1", "", 50);
  CHECK(r.method == "GET");
  CHECK(r.url == "http://h:1/v1/lists/partner%20pdq/changes?since=0&limit=50");
  bool bearer = false;
  for (const auto& h : r.headers)
    bearer = bearer || (h.name == "Authorization" && h.value == "Bearer k-1");
  CHECK(bearer);
  CHECK(exchanges::peer::changes_request("http://h:1", "p", "k", "12.7", 5).url ==
        "http://h:1/v1/lists/p/changes?since=12.7&limit=5");
}

TEST_CASE("peer wire: changes become entries, retired and deleted ones deletions") {
  const auto p = exchanges::peer::parse_changes(answer(
      R"({"entry":17,"value":")" + pdq_a +
      R"(","retired":false,"deleted":false,"external_id":"x","added_at":"2026-12-07T10:00:00Z",)"
      R"("provenance":{"exchange":"te","source_id":"s","tags":["t1","t2"],"opinion":"positive"}},)"
      R"({"entry":18,"value":")" +
      std::string(64, 'B') +
      R"(","retired":true,"deleted":false,"external_id":"","added_at":"","provenance":null},)"
      R"({"entry":19,"value":")" +
      std::string(64, 'c') +
      R"(","retired":false,"deleted":true,"external_id":"","added_at":"","provenance":null})"));
  REQUIRE(p.has_value());
  CHECK(p->checkpoint == "12.7");
  CHECK(p->more);
  REQUIRE(p->entries.size() == 3);
  CHECK(p->entries[0].source_id == "17");
  CHECK(p->entries[0].signal == "pdq");
  CHECK(p->entries[0].value == pdq_a);
  CHECK_FALSE(p->entries[0].deleted);
  CHECK(p->entries[0].tags == std::vector<std::string>{"t1", "t2"});
  CHECK(p->entries[0].opinion == "positive");
  CHECK(p->entries[1].deleted);
  CHECK(p->entries[1].value == std::string(64, 'b'));  // normalised to lower case
  CHECK(p->entries[2].deleted);
}

TEST_CASE("peer wire: a page that is not a feed answer is bad_page, never half a page") {
  const std::string good = R"({"entry":1,"value":")" + pdq_a + R"("})";
  for (const std::string& body :
       {std::string("not json"), std::string("{}"), answer(good, ""),
        answer(good, "1.1", "\"yes\""), answer(good, "1.1", "false", "tmk"),
        answer(good + R"(,{"entry":2,"value":"abc"})"),
        answer(R"({"entry":0,"value":")" + pdq_a + R"("})"),
        answer(R"({"value":")" + pdq_a + R"("})")}) {
    INFO(body);
    CHECK(exchanges::peer::parse_changes(body).error() == exchanges::errc::bad_page);
  }
  CHECK(exchanges::peer::error_message(R"({"error":{"code":"forbidden","message":"no"}})") == "no");
  CHECK(exchanges::peer::error_message("nope").empty());
}

TEST_CASE("registry: the hashguard kind needs a url, a key and a list, reshare is its own choice") {
  exchanges::exchange_config c;
  c.name = "partner";
  c.kind = "hashguard";
  c.url = "http://127.0.0.1:1";
  c.credential = "k";
  c.settings["list"] = "partner-pdq";
  c.settings["page_size"] = "100";
  c.feeds.push_back({core::signal::pdq, "follow-pdq", 31, core::action::review});
  std::string problem;
  auto made = exchanges::make_source(c, &problem);
  INFO(problem);
  REQUIRE(made.has_value());
  CHECK((*made)->kind() == "hashguard");
  c.reshare = true;
  CHECK(exchanges::make_source(c).has_value());

  const auto refusal = [](exchanges::exchange_config bad) {
    std::string why;
    auto r = exchanges::make_source(bad, &why);
    CHECK_FALSE(r.has_value());
    return why;
  };
  auto no_list = c;
  no_list.settings.erase("list");
  CHECK(refusal(no_list).rfind("setting.list:", 0) == 0);
  auto no_key = c;
  no_key.credential.clear();
  CHECK(refusal(no_key).rfind("credential_file or credential_env:", 0) == 0);
  auto no_url = c;
  no_url.url.clear();
  CHECK(refusal(no_url).rfind("url:", 0) == 0);
  auto big = c;
  big.settings["page_size"] = "10001";
  CHECK(refusal(big).rfind("setting.page_size:", 0) == 0);
}
