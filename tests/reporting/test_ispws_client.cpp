// reporting::ispws_client against the fake CyberTipline service over real sockets, and the
// reportResponse parser and multipart builder on hostile and edge-case input.
#include "hashguard/reporting/ispws_client.hpp"

#include "hashguard/hashdb/export.hpp"

#include "fake_ispws.hpp"
#include "hg_catch.hpp"

namespace rp = hashguard::reporting;
namespace ob = hashguard::outbound;
using namespace std::chrono_literals;
using hg_test::fake_ispws;

namespace {

const std::string valid_report = hg_test::minimal_report_xml();

std::string file_details(const std::string& report_id, const std::string& file_id) {
  return "<fileDetails><reportId>" + report_id + "</reportId><fileId>" + file_id +
         "</fileId><fileViewedByEsp>false</fileViewedByEsp><originalFileHash hashType=\"MD5\">"
         "00112233445566778899aabbccddeeff</originalFileHash></fileDetails>";
}

ob::client_options quick() {
  ob::client_options o;
  o.connect_timeout = 2s;
  o.request_timeout = 2s;
  return o;
}

}  // namespace

TEST_CASE("parse_report_response: fields, entities, and answers that are not a reportResponse") {
  auto a = rp::parse_report_response(
      "<?xml version=\"1.0\"?>\n<reportResponse xmlns=\"x\">\n <reportId> 42 </reportId>"
      "<responseCode>0</responseCode><responseDescription>OK &amp; &lt;fine&gt; &#65;&#x42;"
      "</responseDescription><fileId>7</fileId><hash>abc</hash></reportResponse>");
  REQUIRE(a);
  CHECK(a->response_code == 0);
  CHECK(a->ok());
  CHECK(a->report_id == "42");
  CHECK(a->file_id == "7");
  CHECK(a->hash == "abc");
  CHECK(a->description == "OK & <fine> AB");

  auto code = rp::parse_report_response(
      "<reportResponse><responseCode>4100</responseCode></reportResponse>");
  REQUIRE(code);
  CHECK(code->response_code == 4100);
  CHECK_FALSE(code->ok());
  CHECK(code->report_id.empty());

  for (const char* bad : {"", "<html>502 Bad Gateway</html>", "<reportResponse></reportResponse>",
                          "<reportResponse><responseCode>zero</responseCode></reportResponse>",
                          "<reportResponse><responseCode>1",
                          "<reportResponseX><responseCode>0</responseCode>"
                          "</reportResponseX>",
                          "<reportResponse><responseCode>99999999999999999999</responseCode>"
                          "</reportResponse>"}) {
    INFO(bad);
    auto r = rp::parse_report_response(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error() == rp::errc::malformed_answer);
  }
}

TEST_CASE("build_multipart: the boundary never occurs in a part, names cannot break out") {
  std::string bytes = "--hashguard-";
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  auto m = rp::build_multipart({{"id", "42"}}, "file", "a\"b\r\nc.jpg", bytes);
  const auto b = m.content_type.substr(m.content_type.find("boundary=") + 9);
  CHECK(m.content_type.rfind("multipart/form-data; boundary=", 0) == 0);
  CHECK(bytes.find(b) == std::string::npos);
  CHECK(m.body.find("filename=\"a_b__c.jpg\"") != std::string::npos);
  CHECK(m.body.find(bytes) != std::string::npos);
  CHECK(m.body.ends_with("\r\n--" + b + "--\r\n"));
}

TEST_CASE("ispws_client: a whole filing against the fake, with receipts") {
  fake_ispws fake("esp-user", "s3cret");
  ob::http_client http(quick());
  rp::ispws_client client(http, fake.base_url(), {"esp-user", "s3cret"});

  auto status = client.status();
  REQUIRE(status);
  CHECK(status->ok());

  auto opened = client.submit(valid_report);
  REQUIRE(opened);
  REQUIRE(opened->ok());
  const std::string report_id = opened->report_id;
  CHECK_FALSE(report_id.empty());
  CHECK(opened->exchange.method == "POST");
  CHECK(opened->exchange.url == fake.base_url() + "/submit");
  CHECK(opened->exchange.request_body == valid_report);
  CHECK(opened->exchange.http_status == 200);
  CHECK(opened->exchange.response_body.find("<reportId>" + report_id) != std::string::npos);
  CHECK(opened->exchange.request_body.find("s3cret") == std::string::npos);

  const std::string bytes(2 * 1024 * 1024, '\xff');
  auto uploaded = client.upload(report_id, "evidence-1.jpg", bytes);
  REQUIRE(uploaded);
  REQUIRE(uploaded->ok());
  CHECK_FALSE(uploaded->file_id.empty());
  // The receipt names the file and its size; it never keeps the bytes.
  CHECK(uploaded->exchange.request_body.size() < 200);
  CHECK(uploaded->exchange.request_body.find("2097152 bytes") != std::string::npos);

  auto info = client.fileinfo(file_details(report_id, uploaded->file_id));
  REQUIRE(info);
  CHECK(info->ok());

  auto done = client.finish(report_id);
  REQUIRE(done);
  CHECK(done->ok());
  auto again = client.finish(report_id);
  REQUIRE(again);
  CHECK(again->response_code == rp::response_codes::already_finished);

  const auto reports = fake.reports();
  REQUIRE(reports.size() == 1);
  const auto& r = reports.at(report_id);
  CHECK(r.finished);
  REQUIRE(r.file_sizes.size() == 1);
  CHECK(r.file_sizes[0] == bytes.size());
  CHECK(r.file_details.size() == 1);
  CHECK(fake.validation_errors().empty());
  CHECK(fake.open_reports() == 0);
}

TEST_CASE("ispws_client: wrong credentials, validation failures, 1000, 503, retract, expiry") {
  fake_ispws fake("esp-user", "s3cret");
  ob::http_client http(quick());

  rp::ispws_client wrong(http, fake.base_url(), {"esp-user", "guess"});
  auto denied = wrong.status();
  REQUIRE_FALSE(denied);
  CHECK(denied.error() == rp::errc::http_status);

  rp::ispws_client client(http, fake.base_url(), {"esp-user", "s3cret"});

  // Out of sequence order: reporter before incidentSummary.
  std::string swapped =
      "<report><reporter><reportingPerson><firstName>A</firstName><lastName>B</lastName>"
      "</reportingPerson></reporter><incidentSummary><incidentType>x</incidentType>"
      "<incidentDateTime>2026-01-02T03:04:05Z</incidentDateTime></incidentSummary></report>";
  auto order = client.submit(swapped);
  REQUIRE(order);
  CHECK(order->response_code == rp::response_codes::validation_failed);
  // An incidentDateTime in the future.
  std::string future = valid_report;
  future.replace(future.find("2026-01-02"), 10, "2999-01-02");
  auto later = client.submit(future);
  REQUIRE(later);
  CHECK(later->response_code == rp::response_codes::validation_failed);
  // The knob.
  fake.reject_next_submit();
  auto knob = client.submit(valid_report);
  REQUIRE(knob);
  CHECK(knob->response_code == rp::response_codes::validation_failed);
  CHECK(fake.validation_errors().size() == 3);

  fake.fail_with_1000(fake_ispws::step::submit);
  auto busy = client.submit(valid_report);
  REQUIRE(busy);
  CHECK(busy->response_code == rp::response_codes::server_error);

  fake.fail_with_503(fake_ispws::step::submit);
  auto unavailable = client.submit(valid_report);
  REQUIRE_FALSE(unavailable);
  CHECK(unavailable.error() == rp::errc::http_status);

  // A report that cannot finish is retracted; a retracted or expired report is gone.
  auto opened = client.submit(valid_report);
  REQUIRE(opened);
  REQUIRE(opened->ok());
  auto retracted = client.retract(opened->report_id);
  REQUIRE(retracted);
  CHECK(retracted->ok());
  auto gone = client.finish(opened->report_id);
  REQUIRE(gone);
  CHECK(gone->response_code == 4200);

  auto second = client.submit(valid_report);
  REQUIRE(second);
  CHECK(fake.open_reports() == 1);
  fake.expire_open_reports();
  CHECK(fake.open_reports() == 0);
  auto expired = client.finish(second->report_id);
  REQUIRE(expired);
  CHECK(expired->response_code == 4200);

  // A lost answer: the fake did the step, the client saw the connection close.
  fake.lose_answer(fake_ispws::step::submit);
  auto lost = client.submit(valid_report);
  REQUIRE_FALSE(lost);
  CHECK(lost.error() == ob::errc::connect_failed);
  CHECK(fake.open_reports() == 1);

  // A slow answer passes the client's deadline.
  ob::client_options impatient = quick();
  impatient.request_timeout = 150ms;
  ob::http_client hurried(impatient);
  rp::ispws_client slow_client(hurried, fake.base_url(), {"esp-user", "s3cret"});
  fake.delay(fake_ispws::step::status, 2s);
  auto slow = slow_client.status();
  REQUIRE_FALSE(slow);
  CHECK(slow.error() == ob::errc::timeout);
}

TEST_CASE("fake ISPWS: fileDetails element order and required fields") {
  CHECK(hg_test::validate_file_details(file_details("1", "2")).empty());
  CHECK_FALSE(hg_test::validate_file_details(
                  "<fileDetails><fileId>2</fileId><reportId>1</reportId></fileDetails>")
                  .empty());
  CHECK_FALSE(
      hg_test::validate_file_details("<fileDetails><reportId>1</reportId></fileDetails>").empty());
  CHECK(hg_test::validate_file_details(
            "<fileDetails><reportId>1</reportId><fileId>2</fileId>"
            "<originalFileHash hashType=\"MD5\">a</originalFileHash>"
            "<originalFileHash hashType=\"SHA1\">b</originalFileHash></fileDetails>")
            .empty());
  CHECK(hg_test::xml_child_names("<?xml version=\"1.0\"?><!-- c --><a><b/><c x=\"1\"><d/></c>"
                                 "<e>t</e></a>") == std::vector<std::string>{"b", "c", "e"});
}

TEST_CASE("hashdb's CyberTipline documents pass the fake's order check, never in the future") {
  hashguard::hashdb::case_detail c;
  c.summary.id = 7;
  c.summary.zone = "uploads";
  c.summary.first_seen = "2999-01-01T00:00:00.000000Z";  // a clock far ahead of this one
  c.summary.last_seen = c.summary.first_seen;
  c.summary.classification = "A1";
  hashguard::hashdb::file_record f;
  f.content = f.sha256 = std::string(64, 'a');
  f.md5 = std::string(32, 'b');
  f.urls = {"https://example.org/x.jpg"};
  f.urls_total = 1;
  f.first_url = f.urls[0];
  f.sightings = 1;
  c.files.push_back(f);
  c.urls_total = 1;
  hashguard::hashdb::report_record recorded;
  recorded.report_id = "1000";
  recorded.file_ids = {"1"};
  recorded.environment = "test";
  c.reports.push_back(recorded);
  hashguard::hashdb::package_options o;
  o.person = {"Ada", "Lovelace", "ada@example.org", ""};
  const auto docs = hashguard::hashdb::cybertipline_documents(c, o);
  REQUIRE(docs.size() == 2);
  CHECK(hg_test::validate_report(docs[0].content) == "");
  const auto& report = docs[0].content;
  const auto at = report.find("<incidentDateTime>");
  REQUIRE(at != std::string::npos);
  CHECK(report.substr(at + 18, 4) != "2999");
  CHECK(hg_test::validate_file_details(docs[1].content) == "");
}
