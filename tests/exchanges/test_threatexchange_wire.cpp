// The ThreatExchange wire layer: /threat_updates request and answer, token errors, checkpoints.
#include "hashguard/exchanges/threatexchange_wire.hpp"

#include "hg_catch.hpp"

#include <string>

namespace te = hashguard::exchanges::threatexchange;
using hashguard::exchanges::errc;

TEST_CASE("threatexchange wire: the request names the group, the start, the cursor") {
  const auto r = te::updates_request("https://graph/v21.0", "123|abc", "303636684709969",
                                     1700000000, "QVFI", 500, "");
  CHECK(
      r.url.starts_with("https://graph/v21.0/303636684709969/threat_updates/?access_token=123%7Cabc"
                        "&limit=500&fields="));
  CHECK(r.url.find("&start_time=1700000000") != std::string::npos);
  CHECK(r.url.ends_with("&after=QVFI"));
  CHECK(te::updates_request("https://g", "t", "1", 0, "", 10, "HASH_PDQ").url.find("start_time") ==
        std::string::npos);
}

TEST_CASE("threatexchange wire: updates become entries, should_delete deletions") {
  const std::string pdq(64, 'D');
  const auto a = te::parse_updates(R"({"data":[
      {"id":"111","indicator":")" + pdq +
                                   R"(","type":"HASH_PDQ","last_updated":1700000000,
       "should_delete":false,"descriptors":{"data":[
         {"id":"9","owner":{"id":"5"},"status":"MALICIOUS","tags":["gifct","tvec"],
          "reactions":[{"key":"DISAGREE_WITH_TAGS","value":"7"}]},
         {"id":"10","owner":{"id":"6"},"status":"MALICIOUS","tags":{"data":[{"text":"extra"}]}}]}},
      {"id":222,"indicator":"0123456789abcdef0123456789abcdef","type":"HASH_VIDEO_MD5",
       "last_updated":1700000100,"should_delete":true},
      {"id":"333","indicator":"x","type":"HASH_TMK","last_updated":1700000200,
       "descriptors":{"data":[{"status":"NON_MALICIOUS"}]}}],
     "paging":{"cursors":{"before":"b","after":"A2"},"next":"https://graph/...&access_token=SECRET"}})");
  REQUIRE(a.has_value());
  CHECK(a->after == "A2");
  CHECK(a->max_last_updated == 1700000200);
  REQUIRE(a->entries.size() == 3);
  CHECK(a->entries[0].source_id == "111");
  CHECK(a->entries[0].signal == "pdq");
  CHECK(a->entries[0].value == std::string(64, 'd'));
  CHECK(a->entries[0].tags == std::vector<std::string>{"gifct", "tvec", "extra"});
  CHECK(a->entries[0].opinion == "disputed");
  CHECK_FALSE(a->entries[0].deleted);
  CHECK(a->entries[1].source_id == "222");
  CHECK(a->entries[1].signal == "md5");
  CHECK(a->entries[1].deleted);
  CHECK(a->entries[2].signal == "tmk");
  CHECK(a->entries[2].opinion == "negative");
  const auto last = te::parse_updates(R"({"data":[],"paging":{"cursors":{"after":"Z"}}})");
  REQUIRE(last.has_value());
  CHECK(last->after.empty());  // no next link: the last page
}

TEST_CASE("threatexchange wire: malformed answers are bad_page") {
  for (
      const std::string json : {
          "",
          "{}",
          R"({"data":{}})",
          R"({"data":[1]})",
          R"({"data":[{"indicator":"a","type":"HASH_MD5","last_updated":1,"descriptors":{"data":[{}]}}]})",
          R"({"data":[{"id":"1","indicator":"abc","type":"HASH_PDQ","last_updated":1,"descriptors":{"data":[{}]}}]})",
          R"({"data":[{"id":"1","type":"HASH_PDQ","last_updated":1,"descriptors":{"data":[{}]}}]})",
          R"({"data":[],"paging":{"next":"https://x"}})",
      }) {
    CAPTURE(json);
    const auto a = te::parse_updates(json);
    REQUIRE_FALSE(a.has_value());
    CHECK(a.error() == errc::bad_page);
  }
}

TEST_CASE("threatexchange wire: token errors are recognised") {
  CHECK(te::is_token_error(401, ""));
  CHECK(te::is_token_error(
      400, R"({"error":{"message":"expired","type":"OAuthException","code":190}})"));
  CHECK_FALSE(te::is_token_error(400, R"({"error":{"type":"GraphMethodException","code":100}})"));
  CHECK_FALSE(te::is_token_error(500, ""));
}

TEST_CASE("threatexchange wire: checkpoints round-trip") {
  const auto back = te::decode_checkpoint(te::encode_checkpoint({10, "cur", 20, 30}));
  REQUIRE(back.has_value());
  CHECK(back->start == 10);
  CHECK(back->after == "cur");
  CHECK(back->high == 20);
  CHECK(back->fetched_at == 30);
  CHECK(te::decode_checkpoint("{}").error() == errc::bad_config);
}
