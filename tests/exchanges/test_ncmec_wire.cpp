// The NCMEC wire layer: entries XML -> source entries, paging, hostile XML, feedback, checkpoints.
#include "hashguard/exchanges/ncmec_wire.hpp"

#include "hg_catch.hpp"

#include <string>

namespace ncmec = hashguard::exchanges::ncmec;
using hashguard::exchanges::errc;

namespace {

const std::string pdq_hex(64, 'a');

std::string entries_xml(const std::string& images, const std::string& paging = "") {
  return R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
         R"(<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">)"
         R"(<images count="2" maxTimestamp="2017-10-24T15:10:00Z">)" +
         images + "</images>" + paging + "</queryResult>";
}

const std::string one_image =
    R"(<image><member id="42">Example Member</member><timestamp>2017-10-24T15:00:00Z</timestamp>)"
    R"(<id>image1</id><classification>A1</classification><fingerprints>)"
    R"(<md5>A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1</md5>)"
    R"(<sha1>a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1</sha1>)"
    R"(<pdq>)" +
    std::string(64, 'A') +
    R"(</pdq><pdna>AAEC/+base64==</pdna>)"
    R"(<tmk-pdqf rel="self" href="/v2/entries/1/fingerprints/TMK_PDQF"/></fingerprints>)"
    R"(<feedback><negativeFeedback type="Sha1"><reasons/></negativeFeedback></feedback></image>)";

}  // namespace

TEST_CASE("ncmec wire: every environment has its test twin and a base URL") {
  const auto all = ncmec::environments();
  REQUIRE(all.size() == 14);
  for (const auto& e : all) {
    if (e.name.starts_with("test_")) continue;
    const auto twin = ncmec::environment_base_url("test_" + std::string(e.name));
    REQUIRE(twin.has_value());
    CHECK(*twin != e.base_url);
    CHECK(e.base_url.starts_with("https://"));
  }
  CHECK(ncmec::environment_base_url("industry") == "https://report.cybertip.org/hashsharing");
  CHECK_FALSE(ncmec::environment_base_url("nope").has_value());
}

TEST_CASE("ncmec wire: an image becomes one lower-cased entry per fingerprint with text") {
  const auto r = ncmec::parse_entries(entries_xml(one_image));
  REQUIRE(r.has_value());
  REQUIRE(r->entries.size() == 4);  // md5, sha1, pdq, pdna; tmk-pdqf only by reference
  CHECK(r->next.empty());
  CHECK(r->estimated_total == 1);
  const auto& md5 = r->entries[0];
  CHECK(md5.source_id == "42-image1");
  CHECK(md5.signal == "md5");
  CHECK(md5.value == "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1");
  CHECK(md5.tags == std::vector<std::string>{"A1", "ncmec_member:42"});
  CHECK(md5.opinion == "positive");
  CHECK(md5.updated_at == "2017-10-24T15:00:00Z");
  CHECK(r->entries[1].signal == "sha1");
  CHECK(r->entries[1].opinion == "disputed");  // voted down by a member
  CHECK(r->entries[2].signal == "pdq");
  CHECK(r->entries[2].value == pdq_hex);
  CHECK(r->entries[3].signal == "pdna");
  CHECK(r->entries[3].value == "AAEC/+base64==");
}

TEST_CASE("ncmec wire: a deleted entry deletes every fingerprint type of it") {
  const auto r = ncmec::parse_entries(
      "<queryResult><videos><deletedVideo><member id=\"43\">M</member><id>v4</id>"
      "<timestamp>2017-10-24T15:20:00Z</timestamp></deletedVideo></videos></queryResult>");
  REQUIRE(r.has_value());
  REQUIRE(r->entries.size() == ncmec::known_fingerprint_types.size());
  for (const auto& e : r->entries) {
    CHECK(e.deleted);
    CHECK(e.source_id == "43-v4");
    CHECK(e.value.empty());
  }
}

TEST_CASE("ncmec wire: paging next is kept and estimates the window") {
  const auto r = ncmec::parse_entries(entries_xml(
      one_image,
      "<paging><next>/v2/entries?from=2017-10-20T00%3A00%3A00.000Z&amp;to=2017-10-30T00%3A00%3A00."
      "000Z&amp;start=2001&amp;size=1000&amp;max=3000</next></paging>"));
  REQUIRE(r.has_value());
  CHECK(r->next ==
        "/v2/entries?from=2017-10-20T00%3A00%3A00.000Z&to=2017-10-30T00%3A00%3A00.000Z&start=2001&"
        "size=1000&max=3000");
  CHECK(r->estimated_total == 1000 + 1);
  CHECK(ncmec::next_url("https://h/x", r->next) == "https://h/x" + r->next);
}

TEST_CASE("ncmec wire: only_member_ids keeps the named members' entries") {
  ncmec::parse_options o;
  o.only_member_ids = {7};
  const auto r = ncmec::parse_entries(entries_xml(one_image), o);
  REQUIRE(r.has_value());
  CHECK(r->entries.empty());
}

TEST_CASE("ncmec wire: hostile or invalid answers are bad_page") {
  const std::string doctype =
      R"(<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>)"
      "<queryResult><images><image><member id=\"1\"/><id>&b;</id></image></images></queryResult>";
  std::string deep = "<queryResult>";
  for (int i = 0; i < 40; ++i) deep += "<x>";
  const std::string cases[] = {
      "",
      "not xml",
      doctype,
      deep,
      "<other/>",
      entries_xml("<image><member id=\"x\"/><id>1</id></image>"),
      entries_xml("<image><member id=\"1\"/></image>"),
      entries_xml("<video><member id=\"1\"/><id>1</id></video>"),  // a video among images
      entries_xml("<image><member id=\"1\"/><id>1</id><fingerprints><pdq>abc</pdq></fingerprints>"
                  "</image>"),
      entries_xml("<image><member id=\"1\"/><id>1</id><fingerprints><md5>zz" +
                  std::string(30, '0') + "</md5></fingerprints></image>"),
      entries_xml(one_image, "<paging><next>https://evil.example/v2/entries?a=1</next></paging>"),
      entries_xml(one_image, "<paging><next>/v2/entries?a=1 b</next></paging>"),
      entries_xml(one_image) + "<trailing/>",
  };
  for (const auto& xml : cases) {
    CAPTURE(xml.substr(0, 200));
    const auto r = ncmec::parse_entries(xml);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::bad_page);
  }
}

TEST_CASE("ncmec wire: the entries URL carries the window in NCMEC's time form") {
  CHECK(ncmec::entries_url("https://b/hashsharing", 1508457600, 1509321600) ==
        "https://b/hashsharing/v2/entries?from=2017-10-20T00%3A00%3A00.000Z&to=2017-10-30T00%3A00%"
        "3A00.000Z");
}

TEST_CASE("ncmec wire: feedback goes to the entry's fingerprint type") {
  const auto url = ncmec::feedback_url("https://b", "42-image1", "pdq");
  REQUIRE(url.has_value());
  CHECK(*url == "https://b/v2/entries/42/image1/PDQ/feedback");
  CHECK(*ncmec::feedback_url("https://b", "42-a-b", "tmk_pdqf") ==
        "https://b/v2/entries/42/a-b/TMK_PDQF/feedback");
  CHECK(ncmec::feedback_url("https://b", "image1", "pdq").error() == errc::bad_config);
  CHECK(ncmec::feedback_url("https://b", "42-image1", "phash").error() == errc::bad_config);
  const auto up = ncmec::feedback_body(true, "");
  CHECK(up.find("<affirmative/>") != std::string::npos);
  const auto down = ncmec::feedback_body(false, "01234567-abcd-0123-4567-012345678900");
  CHECK(down.find("<negative><reasonIds><guid>01234567-abcd-0123-4567-012345678900</guid>") !=
        std::string::npos);
  CHECK(ncmec::feedback_body(false, "<x>").find("<x>") == std::string::npos);
  CHECK(*ncmec::feedback_reasons_url("https://b", "sha1") == "https://b/v2/feedback/SHA1/reasons");
  const auto reasons = ncmec::parse_feedback_reasons(
      R"(<availableFeedbackReasons xmlns="https://hashsharing.ncmec.org/hashsharing/v2">)"
      R"(<reason guid="0123-ab" name="Not CSAM" type="Sha1"/></availableFeedbackReasons>)");
  REQUIRE(reasons.has_value());
  REQUIRE(reasons->size() == 1);
  CHECK((*reasons)[0].guid == "0123-ab");
  CHECK((*reasons)[0].name == "Not CSAM");
}

TEST_CASE("ncmec wire: checkpoints round-trip and refuse foreign text") {
  ncmec::checkpoint c{100, 200, 100, "/v2/entries?start=11&size=10&max=30", 12345};
  const auto back = ncmec::decode_checkpoint(ncmec::encode_checkpoint(c));
  REQUIRE(back.has_value());
  CHECK(back->from == 100);
  CHECK(back->to == 200);
  CHECK(back->span == 100);
  CHECK(back->next == c.next);
  CHECK(back->next_at == 12345);
  CHECK(ncmec::decode_checkpoint("").value().to == 0);
  CHECK(ncmec::decode_checkpoint("{").error() == errc::bad_config);
  CHECK(ncmec::decode_checkpoint(R"({"from":1,"to":0,"span":1,"next":"/v2/entries?x"})").error() ==
        errc::bad_config);
}
