#include "fake_ispws.hpp"

#include <condition_variable>
#include <optional>

#include <boost/beast/core/detail/base64.hpp>

#include <algorithm>
#include <ctime>
#include <optional>

namespace hg_test {
namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':';
}

std::string answer_xml(int code, std::string_view description, std::string_view report_id = {},
                       std::string_view file_id = {}) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<reportResponse><responseCode>" +
                    std::to_string(code) + "</responseCode><responseDescription>" +
                    std::string(description) + "</responseDescription>";
  if (!report_id.empty()) out += "<reportId>" + std::string(report_id) + "</reportId>";
  if (!file_id.empty()) out += "<fileId>" + std::string(file_id) + "</fileId>";
  return out + "</reportResponse>\n";
}

fake_response xml_answer(int code, std::string_view description, std::string_view report_id = {},
                         std::string_view file_id = {}) {
  fake_response r;
  r.content_type = "text/xml";
  r.body = answer_xml(code, description, report_id, file_id);
  return r;
}

// The text of the first <name>...</name> anywhere in `xml`.
std::optional<std::string> leaf_text(std::string_view xml, std::string_view name) {
  const std::string open = "<" + std::string(name) + ">";
  const auto a = xml.find(open);
  if (a == std::string_view::npos) return std::nullopt;
  const auto b = xml.find("</" + std::string(name) + ">", a);
  if (b == std::string_view::npos) return std::nullopt;
  return std::string(xml.substr(a + open.size(), b - a - open.size()));
}

// The content of the first <name ...>...</name> element, or nullopt.
std::optional<std::string_view> element_content(std::string_view xml, std::string_view name) {
  const std::string open = "<" + std::string(name);
  std::size_t from = 0;
  for (;;) {
    const auto a = xml.find(open, from);
    if (a == std::string_view::npos) return std::nullopt;
    from = a + 1;
    const auto after = a + open.size();
    if (after >= xml.size() || name_char(xml[after])) continue;
    const auto gt = xml.find('>', after);
    const auto b = xml.find("</" + std::string(name) + ">", gt);
    if (gt == std::string_view::npos || b == std::string_view::npos) return std::nullopt;
    return xml.substr(gt + 1, b - gt - 1);
  }
}

std::string form_id(std::string_view body) {
  // "id=<value>" (the value is a number; no decoding needed beyond that).
  const auto p = body.find("id=");
  if (p == std::string_view::npos) return {};
  auto v = body.substr(p + 3);
  return std::string(v.substr(0, v.find('&')));
}

struct upload_form {
  std::string id;
  std::string file_name;
  std::string bytes;
  bool ok{false};
};

upload_form parse_multipart(const fake_request& r) {
  upload_form out;
  const std::string ct = r.header("content-type");
  const auto bpos = ct.find("boundary=");
  if (ct.rfind("multipart/form-data", 0) != 0 || bpos == std::string::npos) return out;
  const std::string delimiter = "--" + ct.substr(bpos + 9);
  std::string_view body = r.body;
  std::size_t pos = body.find(delimiter);
  bool file_seen = false;
  while (pos != std::string_view::npos) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;
    if (body.substr(pos, 2) != "\r\n") return out;
    pos += 2;
    const auto header_end = body.find("\r\n\r\n", pos);
    if (header_end == std::string_view::npos) return out;
    const std::string_view headers = body.substr(pos, header_end - pos);
    const auto next = body.find("\r\n" + delimiter, header_end + 4);
    if (next == std::string_view::npos) return out;
    const std::string_view content = body.substr(header_end + 4, next - header_end - 4);
    if (headers.find("name=\"id\"") != std::string_view::npos) out.id = std::string(content);
    if (headers.find("name=\"file\"") != std::string_view::npos) {
      const auto f = headers.find("filename=\"");
      if (f != std::string_view::npos) {
        auto rest = headers.substr(f + 10);
        out.file_name = std::string(rest.substr(0, rest.find('"')));
      }
      out.bytes = std::string(content);
      file_seen = true;
    }
    pos = next + 2;
  }
  out.ok = file_seen && !out.id.empty();
  return out;
}

}  // namespace

std::vector<std::string> xml_child_names(std::string_view xml) {
  std::vector<std::string> names;
  int depth = -1;  // -1: before the document element
  std::size_t i = 0;
  while ((i = xml.find('<', i)) != std::string_view::npos) {
    if (xml.substr(i, 4) == "<!--") {
      const auto e = xml.find("-->", i);
      if (e == std::string_view::npos) break;
      i = e + 3;
      continue;
    }
    if (xml.substr(i, 2) == "<?" || xml.substr(i, 2) == "<!") {
      const auto e = xml.find('>', i);
      if (e == std::string_view::npos) break;
      i = e + 1;
      continue;
    }
    const auto gt = xml.find('>', i);
    if (gt == std::string_view::npos) break;
    if (xml[i + 1] == '/') {
      --depth;
      if (depth < 0) break;  // the document element closed
      i = gt + 1;
      continue;
    }
    const std::size_t start = i + 1;
    std::size_t n = start;
    while (n < xml.size() && name_char(xml[n])) ++n;
    const bool self_closing = xml[gt - 1] == '/';
    i = gt + 1;
    if (depth == -1) {  // the document element itself
      if (self_closing) break;
      depth = 0;
      continue;
    }
    if (depth == 0) names.emplace_back(xml.substr(start, n - start));
    if (!self_closing) ++depth;
  }
  return names;
}

std::string check_sequence(std::string_view xml, const std::vector<std::string>& order,
                           const std::vector<std::string>& repeatable,
                           const std::vector<std::string>& required) {
  const auto names = xml_child_names(xml);
  std::ptrdiff_t last = -1;
  std::string previous;
  for (const auto& n : names) {
    const auto it = std::find(order.begin(), order.end(), n);
    if (it == order.end()) return "unknown element " + n;
    const auto index = it - order.begin();
    if (index < last) return n + " after " + previous + " (out of sequence order)";
    if (index == last && std::find(repeatable.begin(), repeatable.end(), n) == repeatable.end()) {
      return n + " repeated";
    }
    last = index;
    previous = n;
  }
  for (const auto& r : required) {
    if (std::find(names.begin(), names.end(), r) == names.end()) return "missing " + r;
  }
  return {};
}

std::string validate_report(std::string_view xml) {
  if (xml.find("<report") == std::string_view::npos) return "not a <report> document";
  auto e = check_sequence(
      xml,
      {"batchedReport", "incidentSummary", "internetDetails", "lawEnforcement", "reporter",
       "personOrUserReported", "intendedRecipient", "victim", "additionalInfo"},
      {"internetDetails", "personOrUserReported", "intendedRecipient", "victim"},
      {"incidentSummary", "reporter"});
  if (!e.empty()) return e;
  const auto summary = element_content(xml, "incidentSummary");
  if (!summary) return "incidentSummary unreadable";
  e = check_sequence("<s>" + std::string(*summary) + "</s>",
                     {"incidentType", "platform", "escalateToHighPriority", "reportAnnotations",
                      "incidentDateTime", "incidentDateTimeDescription"},
                     {}, {"incidentType", "incidentDateTime"});
  if (!e.empty()) return "incidentSummary: " + e;
  const auto when = leaf_text(*summary, "incidentDateTime");
  if (!when || when->size() < 19 || ((*when)[10] != 'T' && (*when)[10] != ' ')) {
    return "incidentDateTime is not an xs:dateTime";
  }
  char now[32];
  const std::time_t t = std::time(nullptr) + 60;  // a minute of clock skew
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string when_t = when->substr(0, 19);
  when_t[10] = 'T';
  if (when_t > now) return "incidentDateTime " + *when + " is in the future";
  const auto reporter = element_content(xml, "reporter");
  if (!reporter) return "reporter unreadable";
  e = check_sequence(
      "<r>" + std::string(*reporter) + "</r>",
      {"reportingPerson", "contactPerson", "companyTemplate", "termsOfService", "legalURL"}, {},
      {"reportingPerson"});
  if (!e.empty()) return "reporter: " + e;
  const auto person = element_content(*reporter, "reportingPerson");
  if (!person || !leaf_text(*person, "firstName") || !leaf_text(*person, "lastName")) {
    return "reportingPerson needs firstName and lastName";
  }
  return {};
}

std::string minimal_report_xml() {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<report>\n  <incidentSummary>\n"
         "    <incidentType>Child Pornography (possession, manufacture, and distribution)"
         "</incidentType>\n    <incidentDateTime>2026-01-02T03:04:05Z</incidentDateTime>\n"
         "  </incidentSummary>\n  <internetDetails><webPageIncident><url>https://example.org/a"
         "</url></webPageIncident></internetDetails>\n  <reporter><reportingPerson><firstName>Ada"
         "</firstName><lastName>Lovelace</lastName></reportingPerson></reporter>\n</report>\n";
}

std::string validate_file_details(std::string_view xml) {
  if (xml.find("<fileDetails") == std::string_view::npos) return "not a <fileDetails> document";
  return check_sequence(
      xml,
      {"reportId", "fileId", "fileName", "originalFileName", "uploadedToEspTimestamp",
       "locationOfFile", "fileViewedByEsp", "exifViewedByEsp", "publiclyAvailable", "fileRelevance",
       "potentialMeme", "fileAnnotations", "industryClassification", "originalFileHash",
       "ipCaptureEvent", "deviceId", "details", "additionalInfo"},
      {"originalFileHash", "deviceId", "details", "additionalInfo"}, {"reportId", "fileId"});
}

struct fake_ispws::impl {
  struct knob {
    std::optional<step> at;
    int count{};
  };
  mutable std::mutex m;
  std::condition_variable cv;
  std::optional<step> hold_at;  // under m
  int hold_skip{0};
  bool holding{false};
  bool released{false};
  std::string authorization;
  std::map<std::string, report_state> reports;
  std::vector<std::string> validation_errors;
  std::int64_t next_report{1000};
  std::int64_t next_file{1};
  knob fail_1000, fail_503, slow, lose;
  std::chrono::milliseconds slow_by{0};
  bool reject_submit{false};
  std::unique_ptr<fake_http_server> server;

  static bool take(knob& k, step s) {
    if (k.count <= 0 || (k.at && *k.at != s)) return false;
    --k.count;
    return true;
  }

  fake_response handle(const fake_request& r) {
    std::unique_lock lock(m);
    if (r.header("authorization") != authorization) {
      fake_response denied;
      denied.status = 401;
      denied.content_type = "text/plain";
      denied.headers = {{"WWW-Authenticate", "Basic realm=\"ispws\""}};
      denied.body = "unauthorized";
      return denied;
    }
    const auto path = r.path();
    std::optional<step> s;
    if (path.ends_with("/status") && r.method == "GET") s = step::status;
    if (path.ends_with("/submit") && r.method == "POST") s = step::submit;
    if (path.ends_with("/upload") && r.method == "POST") s = step::upload;
    if (path.ends_with("/fileinfo") && r.method == "POST") s = step::fileinfo;
    if (path.ends_with("/finish") && r.method == "POST") s = step::finish;
    if (path.ends_with("/retract") && r.method == "POST") s = step::retract;
    if (!s) {
      fake_response missing;
      missing.status = 404;
      missing.content_type = "text/plain";
      return missing;
    }
    if (hold_at && *hold_at == *s && --hold_skip <= 0) {
      hold_at.reset();
      holding = true;
      released = false;
      cv.notify_all();
      cv.wait(lock, [this] { return released; });
      holding = false;
      fake_response dropped;
      dropped.drop_connection = true;
      return dropped;
    }
    if (take(fail_503, *s)) {
      fake_response busy;
      busy.status = 503;
      busy.content_type = "text/html";
      busy.body = "<html>busy</html>";
      return busy;
    }
    if (take(fail_1000, *s)) return xml_answer(1000, "Server Error");
    fake_response out = perform(*s, r);
    if (take(slow, *s)) out.delay = slow_by;
    if (take(lose, *s)) out.drop_connection = true;
    return out;
  }

  report_state* open_report(const std::string& id, fake_response& refusal) {
    auto it = reports.find(id);
    if (it == reports.end() || it->second.expired || it->second.retracted) {
      refusal = xml_answer(4200, "Report not found or no longer open", id);
      return nullptr;
    }
    return &it->second;
  }

  fake_response perform(step s, const fake_request& r) {
    switch (s) {
      case step::status: return xml_answer(0, "Success");
      case step::submit: {
        std::string why = validate_report(r.body);
        if (why.empty() && reject_submit) why = "rejected by the test's knob";
        reject_submit = false;
        if (!why.empty()) {
          validation_errors.push_back("report: " + why);
          return xml_answer(4100, "Validation failed: " + why);
        }
        const std::string id = std::to_string(next_report++);
        reports[id].report_xml = r.body;
        return xml_answer(0, "Success", id);
      }
      case step::upload: {
        const auto form = parse_multipart(r);
        if (!form.ok) return xml_answer(4100, "Validation failed: multipart id and file");
        fake_response refusal;
        auto* report = open_report(form.id, refusal);
        if (report == nullptr) return refusal;
        if (report->finished) return xml_answer(5102, "Report already finished", form.id);
        const std::string file_id = std::to_string(next_file++);
        report->file_ids.push_back(file_id);
        report->file_sizes.push_back(form.bytes.size());
        return xml_answer(0, "Success", form.id, file_id);
      }
      case step::fileinfo: {
        const std::string why = validate_file_details(r.body);
        if (!why.empty()) {
          validation_errors.push_back("fileDetails: " + why);
          return xml_answer(4100, "Validation failed: " + why);
        }
        const auto report_id = leaf_text(r.body, "reportId").value_or("");
        const auto file_id = leaf_text(r.body, "fileId").value_or("");
        fake_response refusal;
        auto* report = open_report(report_id, refusal);
        if (report == nullptr) return refusal;
        if (std::find(report->file_ids.begin(), report->file_ids.end(), file_id) ==
            report->file_ids.end()) {
          validation_errors.push_back("fileDetails: fileId " + file_id + " not uploaded");
          return xml_answer(4100, "Validation failed: unknown fileId", report_id);
        }
        report->file_details.push_back(r.body);
        return xml_answer(0, "Success", report_id, file_id);
      }
      case step::finish: {
        const auto id = form_id(r.body);
        fake_response refusal;
        auto* report = open_report(id, refusal);
        if (report == nullptr) return refusal;
        if (report->finished) return xml_answer(5102, "Report already finished", id);
        report->finished = true;
        return xml_answer(0, "Success", id);
      }
      case step::retract: {
        const auto id = form_id(r.body);
        fake_response refusal;
        auto* report = open_report(id, refusal);
        if (report == nullptr) return refusal;
        if (report->finished) return xml_answer(5102, "Report already finished", id);
        report->retracted = true;
        return xml_answer(0, "Success", id);
      }
    }
    return xml_answer(1000, "Server Error");
  }
};

fake_ispws::fake_ispws(std::string username, std::string password)
    : impl_(std::make_unique<impl>()) {
  const std::string plain = username + ":" + password;
  std::string encoded(boost::beast::detail::base64::encoded_size(plain.size()), '\0');
  encoded.resize(boost::beast::detail::base64::encode(encoded.data(), plain.data(), plain.size()));
  impl_->authorization = "Basic " + encoded;
  impl_->server = std::make_unique<fake_http_server>(
      [i = impl_.get()](const fake_request& r) { return i->handle(r); });
}

fake_ispws::~fake_ispws() {
  release();
  impl_->server.reset();  // stop the thread before the state it reads goes
}

std::string fake_ispws::base_url() const {
  return impl_->server->base_url() + "/ispws";
}

void fake_ispws::fail_with_1000(step at, int count) {
  std::lock_guard lock(impl_->m);
  impl_->fail_1000 = {at, count};
}

void fake_ispws::fail_with_503(step at, int count) {
  std::lock_guard lock(impl_->m);
  impl_->fail_503 = {at, count};
}

void fake_ispws::delay(step at, std::chrono::milliseconds d, int count) {
  std::lock_guard lock(impl_->m);
  impl_->slow = {at, count};
  impl_->slow_by = d;
}

void fake_ispws::reject_next_submit() {
  std::lock_guard lock(impl_->m);
  impl_->reject_submit = true;
}

void fake_ispws::hold(step at, int nth) {
  std::lock_guard lock(impl_->m);
  impl_->hold_at = at;
  impl_->hold_skip = nth;
}

bool fake_ispws::held() const {
  std::lock_guard lock(impl_->m);
  return impl_->holding;
}

void fake_ispws::release() {
  {
    std::lock_guard lock(impl_->m);
    impl_->released = true;
  }
  impl_->cv.notify_all();
}

void fake_ispws::lose_answer(step at, int count) {
  std::lock_guard lock(impl_->m);
  impl_->lose = {at, count};
}

void fake_ispws::expire_open_reports() {
  std::lock_guard lock(impl_->m);
  for (auto& [id, r] : impl_->reports) {
    if (!r.finished && !r.retracted) r.expired = true;
  }
}

std::map<std::string, fake_ispws::report_state> fake_ispws::reports() const {
  std::lock_guard lock(impl_->m);
  return impl_->reports;
}

int fake_ispws::finished_reports() const {
  std::lock_guard lock(impl_->m);
  return static_cast<int>(std::count_if(impl_->reports.begin(), impl_->reports.end(),
                                        [](const auto& p) { return p.second.finished; }));
}

int fake_ispws::open_reports() const {
  std::lock_guard lock(impl_->m);
  return static_cast<int>(
      std::count_if(impl_->reports.begin(), impl_->reports.end(), [](const auto& p) {
        return !p.second.finished && !p.second.retracted && !p.second.expired;
      }));
}

std::vector<std::string> fake_ispws::validation_errors() const {
  std::lock_guard lock(impl_->m);
  return impl_->validation_errors;
}

std::uint64_t fake_ispws::requests() const {
  return impl_->server->requests_seen();
}

}  // namespace hg_test
