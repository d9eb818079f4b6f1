#include "hashguard/reporting/ispws_client.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <random>

namespace hashguard::reporting {
namespace {

class reporting_category_impl final : public core::named_category {
 public:
  const char* name() const noexcept override { return "hashguard.reporting"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::http_status: return "the CyberTipline service answered an HTTP error";
      case errc::malformed_answer: return "the CyberTipline answer is not a reportResponse";
    }
    return "unknown reporting error";
  }
  const char* code_name(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::http_status: return "http_status";
      case errc::malformed_answer: return "malformed_answer";
    }
    return "unknown";
  }
};

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool name_end(char c) noexcept {
  return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The content between <name ...> and </name>, the first such element in `doc`; nullopt when
// absent or unclosed. A self-closing <name/> is empty content.
std::optional<std::string_view> element(std::string_view doc, std::string_view name) {
  std::size_t from = 0;
  for (;;) {
    const auto lt = doc.find('<', from);
    if (lt == std::string_view::npos) return std::nullopt;
    from = lt + 1;
    if (doc.substr(lt + 1, name.size()) != name) continue;
    const std::size_t after = lt + 1 + name.size();
    if (after >= doc.size() || !name_end(doc[after])) continue;
    const auto gt = doc.find('>', after);
    if (gt == std::string_view::npos) return std::nullopt;
    if (doc[gt - 1] == '/') return std::string_view{};
    const std::string closing = "</" + std::string(name);
    const auto end = doc.find(closing, gt + 1);
    if (end == std::string_view::npos) return std::nullopt;
    return doc.substr(gt + 1, end - gt - 1);
  }
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x110000) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Text content with entities decoded and surrounding whitespace trimmed; an unknown entity is
// kept as written.
std::string text_of(std::string_view raw) {
  while (!raw.empty() && std::string_view(" \t\r\n").find(raw.front()) != std::string_view::npos) {
    raw.remove_prefix(1);
  }
  while (!raw.empty() && std::string_view(" \t\r\n").find(raw.back()) != std::string_view::npos) {
    raw.remove_suffix(1);
  }
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out += raw[i];
      continue;
    }
    const auto semi = raw.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += raw[i];
      continue;
    }
    const std::string_view entity = raw.substr(i + 1, semi - i - 1);
    std::optional<std::uint32_t> cp;
    if (entity == "amp") cp = '&';
    if (entity == "lt") cp = '<';
    if (entity == "gt") cp = '>';
    if (entity == "quot") cp = '"';
    if (entity == "apos") cp = '\'';
    if (entity.size() > 1 && entity[0] == '#') {
      std::uint32_t v = 0;
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const auto digits = entity.substr(hex ? 2 : 1);
      auto [p, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), v, hex ? 16 : 10);
      if (ec == std::errc{} && p == digits.data() + digits.size() && !digits.empty()) cp = v;
    }
    if (!cp) {
      out += raw[i];
      continue;
    }
    append_utf8(out, *cp);
    i = semi;
  }
  return out;
}

}  // namespace

const core::named_category& reporting_category() noexcept {
  static const reporting_category_impl category;
  return category;
}

std::string_view to_string(environment e) noexcept {
  return e == environment::production ? "production" : "test";
}

std::optional<environment> parse_environment(std::string_view text) noexcept {
  if (text == "test") return environment::test;
  if (text == "production") return environment::production;
  return std::nullopt;
}

std::string_view default_base_url(environment e) noexcept {
  return e == environment::production ? "https://report.cybertip.org/ispws"
                                      : "https://exttest.cybertip.org/ispws";
}

core::result<ispws_answer> parse_report_response(std::string_view body) {
  const auto response = element(body, "reportResponse");
  if (!response) return core::error_code(errc::malformed_answer);
  const auto code = element(*response, "responseCode");
  if (!code) return core::error_code(errc::malformed_answer);
  ispws_answer a;
  const std::string code_text = text_of(*code);
  auto [p, ec] =
      std::from_chars(code_text.data(), code_text.data() + code_text.size(), a.response_code);
  if (ec != std::errc{} || p != code_text.data() + code_text.size() || code_text.empty()) {
    return core::error_code(errc::malformed_answer);
  }
  if (auto d = element(*response, "responseDescription")) a.description = text_of(*d);
  if (auto r = element(*response, "reportId")) a.report_id = text_of(*r);
  if (auto f = element(*response, "fileId")) a.file_id = text_of(*f);
  if (auto h = element(*response, "hash")) a.hash = text_of(*h);
  return a;
}

multipart_body build_multipart(const std::vector<std::pair<std::string, std::string>>& fields,
                               std::string_view file_field, std::string_view file_name,
                               std::string_view bytes) {
  std::random_device seed;
  std::mt19937_64 rng(seed());
  const auto contains = [&](const std::string& b) {
    if (bytes.find(b) != std::string_view::npos || file_name.find(b) != std::string_view::npos) {
      return true;
    }
    for (const auto& [n, v] : fields) {
      if (n.find(b) != std::string::npos || v.find(b) != std::string::npos) return true;
    }
    return false;
  };
  std::string boundary;
  do {
    boundary = "hashguard-" + std::to_string(rng()) + std::to_string(rng());
  } while (contains(boundary));
  // A name or file name never carries a quote or line break into the part header.
  const auto safe = [](std::string_view s) {
    std::string out;
    for (char c : s) out += (c == '"' || c == '\r' || c == '\n' || c == '\\') ? '_' : c;
    return out;
  };
  multipart_body m;
  m.content_type = "multipart/form-data; boundary=" + boundary;
  for (const auto& [n, v] : fields) {
    m.body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + safe(n) +
              "\"\r\n\r\n" + v + "\r\n";
  }
  m.body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + safe(file_field) +
            "\"; filename=\"" + safe(file_name) +
            "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
  m.body += bytes;
  m.body += "\r\n--" + boundary + "--\r\n";
  return m;
}

ispws_client::ispws_client(outbound::http_client& http, std::string base_url,
                           ispws_credentials credentials)
    : http_(http),
      base_url_(std::move(base_url)),
      authorization_("Basic " + base64(credentials.username + ":" + credentials.password)) {}

core::result<ispws_answer> ispws_client::call(outbound::request r, std::string receipt_body) {
  ispws_exchange x;
  x.method = r.method;
  x.url = r.url;
  x.request_body = std::move(receipt_body);
  r.headers.push_back({"Authorization", authorization_});
  auto answer = http_.send(r);
  if (!answer) return answer.error();
  x.http_status = answer->status;
  x.response_body = answer->body;
  auto parsed = parse_report_response(answer->body);
  if (!parsed) {
    if (answer->status < 200 || answer->status > 299) return core::error_code(errc::http_status);
    return parsed.error();
  }
  parsed->exchange = std::move(x);
  return parsed;
}

core::result<ispws_answer> ispws_client::status() {
  outbound::request r;
  r.method = "GET";
  r.url = base_url_ + "/status";
  return call(std::move(r), "");
}

core::result<ispws_answer> ispws_client::submit(std::string_view report_xml) {
  return post_xml("/submit", report_xml);
}

core::result<ispws_answer> ispws_client::post_xml(std::string_view path, std::string_view xml) {
  outbound::request r;
  r.method = "POST";
  r.url = base_url_ + std::string(path);
  r.content_type = "text/xml; charset=utf-8";
  r.body = std::string(xml);
  std::string receipt = r.body;
  return call(std::move(r), std::move(receipt));
}

core::result<ispws_answer> ispws_client::upload(std::string_view report_id,
                                                std::string_view file_name,
                                                std::string_view bytes) {
  auto m = build_multipart({{"id", std::string(report_id)}}, "file", file_name, bytes);
  outbound::request r;
  r.method = "POST";
  r.url = base_url_ + "/upload";
  r.content_type = m.content_type;
  r.body = std::move(m.body);
  // The receipt keeps what was sent about the file, never the (CSAM) bytes themselves.
  std::string receipt = "id=" + std::string(report_id) + "; file=" + std::string(file_name) + " (" +
                        std::to_string(bytes.size()) + " bytes)";
  return call(std::move(r), std::move(receipt));
}

core::result<ispws_answer> ispws_client::fileinfo(std::string_view file_details_xml) {
  return post_xml("/fileinfo", file_details_xml);
}

namespace {
// application/x-www-form-urlencoded value: unreserved characters kept, the rest %XX.
std::string form_value(std::string_view v) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}
}  // namespace

core::result<ispws_answer> ispws_client::finish(std::string_view report_id) {
  return post_id("/finish", report_id);
}

core::result<ispws_answer> ispws_client::retract(std::string_view report_id) {
  return post_id("/retract", report_id);
}

core::result<ispws_answer> ispws_client::post_id(std::string_view path,
                                                 std::string_view report_id) {
  outbound::request r;
  r.method = "POST";
  r.url = base_url_ + std::string(path);
  r.content_type = "application/x-www-form-urlencoded";
  r.body = "id=" + form_value(report_id);
  std::string receipt = r.body;
  return call(std::move(r), std::move(receipt));
}

}  // namespace hashguard::reporting
