// The StopNCII wire layer: FetchHashes request and answer, SubmitFeedback, checkpoints.
#include "hashguard/exchanges/stopncii_wire.hpp"

#include "hg_catch.hpp"

#include <string>

namespace stopncii = hashguard::exchanges::stopncii;
using hashguard::exchanges::errc;

namespace {

const stopncii::keys keys{"sub-key", "fetch-key", "feedback-key"};

std::string header(const hashguard::outbound::request& r, const std::string& name) {
  for (const auto& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return "";
}

}  // namespace

TEST_CASE("stopncii wire: the fetch request carries both keys and the resume point") {
  const auto r = stopncii::fetch_request("https://api/v1", keys, 1700000000, 800, "tok/+=");
  CHECK(r.method == "GET");
  CHECK(r.url ==
        "https://api/v1/"
        "FetchHashes?startTimestamp=1700000000&pageSize=800&nextPageToken=tok%2F%2B%3D");
  CHECK(header(r, "Ocp-Apim-Subscription-Key") == "sub-key");
  CHECK(header(r, "x-functions-key") == "fetch-key");
  CHECK(stopncii::fetch_request("https://api/v1", keys, 0, 10, "").url.find("nextPageToken") ==
        std::string::npos);
}

TEST_CASE("stopncii wire: records become entries, withdrawn and deleted ones deletions") {
  const std::string pdq(64, 'B');
  const auto a = stopncii::parse_fetch_answer(
      R"({"count":3,"nextPageToken":"t2","nextSetTimestamp":1700000100,"hasMoreRecords":true,
          "hashRecords":[
           {"lastModtimestamp":1700000000,"signalType":"ImagePDQ","hashValue":")" +
      pdq + R"(",
            "hashStatus":"Active","caseNumbers":{"c1":"Active"},
            "CSPFeedbacks":[{"feedbackValue":"Blocked","tags":["nudity"],"source":"csp1"},
                            {"feedbackValue":"NotBlocked","tags":[],"source":"csp2"}]},
           {"lastModtimestamp":1700000050,"signalType":"VideoMD5",
            "hashValue":"0123456789ABCDEF0123456789abcdef","hashStatus":"Withdrawn"},
           {"lastModtimestamp":1700000060,"signalType":"VideoTMK","hashValue":"tmk-blob",
            "hashStatus":"Deleted","CSPFeedbacks":[]}]})");
  REQUIRE(a.has_value());
  CHECK(a->has_more);
  CHECK(a->next_page_token == "t2");
  CHECK(a->next_set_timestamp == 1700000100);
  REQUIRE(a->entries.size() == 3);
  CHECK(a->entries[0].signal == "pdq");
  CHECK(a->entries[0].value == std::string(64, 'b'));
  CHECK(a->entries[0].source_id == std::string(64, 'b'));
  CHECK(a->entries[0].opinion == "disputed");
  CHECK(a->entries[0].tags == std::vector<std::string>{"nudity"});
  CHECK(a->entries[0].updated_at == "2023-11-14T22:13:20Z");
  CHECK_FALSE(a->entries[0].deleted);
  CHECK(a->entries[1].signal == "md5");
  CHECK(a->entries[1].value == "0123456789abcdef0123456789abcdef");
  CHECK(a->entries[1].deleted);
  CHECK(a->entries[2].signal == "videotmk");
  CHECK(a->entries[2].deleted);
}

TEST_CASE("stopncii wire: malformed answers are bad_page") {
  for (const std::string json : {
           "",
           "[]",
           "{",
           R"({"hashRecords":[]})",  // no nextSetTimestamp
           R"({"nextSetTimestamp":1,"hasMoreRecords":true,"hashRecords":[]})",  // no token
           R"({"nextSetTimestamp":1,"hashRecords":{}})",
           R"({"nextSetTimestamp":1,"hashRecords":[{"signalType":"ImagePDQ","hashValue":"abc"}]})",
           R"({"nextSetTimestamp":1,"hashRecords":[{"signalType":"ImagePDQ"}]})",
           R"({"nextSetTimestamp":1,"hashRecords":[1]})",
       }) {
    CAPTURE(json);
    const auto a = stopncii::parse_fetch_answer(json);
    REQUIRE_FALSE(a.has_value());
    CHECK(a.error() == errc::bad_page);
  }
}

TEST_CASE("stopncii wire: feedback posts Blocked or NotBlocked with the feedback key") {
  hashguard::exchanges::feedback f{"h", "pdq", std::string(64, 'c'), false, "not_ncii"};
  const auto r = stopncii::feedback_request("https://api/v1", keys, f);
  REQUIRE(r.has_value());
  CHECK(r->method == "POST");
  CHECK(r->url == "https://api/v1/SubmitFeedback");
  CHECK(header(*r, "x-functions-key") == "feedback-key");
  CHECK(r->body == R"({"count":1,"hashFeedbacks":[{"hashValue":")" + std::string(64, 'c') +
                       R"(","feedbackValue":"NotBlocked","tags":["not_ncii"]}]})");
  f.positive = true;
  CHECK(stopncii::feedback_request("https://api/v1", keys, f)->body.find("\"Blocked\"") !=
        std::string::npos);
  CHECK(stopncii::feedback_request("https://api/v1", {"s", "f", ""}, f).error() ==
        errc::unsupported);
}

TEST_CASE("stopncii wire: checkpoints round-trip") {
  const auto back = stopncii::decode_checkpoint(stopncii::encode_checkpoint({5, "tok", 9}));
  REQUIRE(back.has_value());
  CHECK(back->start == 5);
  CHECK(back->token == "tok");
  CHECK(back->token_at == 9);
  CHECK(stopncii::decode_checkpoint("").value().start == 0);
  CHECK(stopncii::decode_checkpoint("x").error() == errc::bad_config);
}
