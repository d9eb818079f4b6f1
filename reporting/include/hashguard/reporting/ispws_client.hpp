// The CyberTipline Reporting API (ISPWS) as typed calls over outbound::http_client
// (/work/shared/cybertipline.md): status, submit, upload, fileinfo, finish and retract, each with
// HTTP Basic authentication, each answer's `reportResponse` parsed.
//
// What a call returns: an `ispws_answer` whenever the service answered with a readable
// reportResponse, whatever its responseCode (0 = success; the caller decides what 1000, 4100 or
// 5102 mean for its job), together with the exchange as sent and received (the receipt: the
// request's method, URL and body, never its Authorization header; the answer's HTTP status and
// body). Errors: an outbound error when there was no answer (connect, timeout, TLS, ...), and
// errc::http_status / errc::malformed_answer when the service answered something else than a
// reportResponse (an HTML error page, a 401, a proxy's 502).
//
// Retries: none here: each call is one request, so that the job store records every attempt.
//
// Thread-safety: like http_client, one thread at a time; cancel() from any thread.
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/outbound/http_client.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hashguard::reporting {

enum class errc {
  http_status = 1,   ///< the service answered a non-2xx status without a reportResponse
  malformed_answer,  ///< a 2xx answer that is not a reportResponse with a responseCode
};

const core::named_category& reporting_category() noexcept;
HG_DECLARE_ERRC(errc, reporting_category)

/// Which NCMEC service a report goes to. Test is the default everywhere.
enum class environment : std::uint8_t { test, production };
[[nodiscard]] std::string_view to_string(environment e) noexcept;
[[nodiscard]] std::optional<environment> parse_environment(std::string_view text) noexcept;
/// https://exttest.cybertip.org/ispws or https://report.cybertip.org/ispws.
[[nodiscard]] std::string_view default_base_url(environment e) noexcept;

struct ispws_credentials {
  std::string username;
  std::string password;
};

/// The documented success code and the codes a job acts on.
namespace response_codes {
inline constexpr int success = 0;
inline constexpr int server_error = 1000;       ///< NCMEC's transient failure: try again
inline constexpr int validation_failed = 4100;  ///< the document does not validate: never retried
inline constexpr int already_finished = 5102;   ///< finish on a finished report: it is done
}  // namespace response_codes

/// One request and its answer, as stored in a job's receipt.
struct ispws_exchange {
  std::string method;
  std::string url;
  std::string request_body;  ///< a multipart upload's file bytes are summarised, not copied
  int http_status{};
  std::string response_body;
};

/// A parsed reportResponse. Fields the answer does not carry are empty.
struct ispws_answer {
  int response_code{-1};
  std::string description;
  std::string report_id;
  std::string file_id;
  std::string hash;  ///< /upload's hash of the bytes NCMEC received, when given
  ispws_exchange exchange;
  [[nodiscard]] bool ok() const noexcept { return response_code == response_codes::success; }
};

/// reportResponse{responseCode, responseDescription, reportId, fileId, hash} out of an answer
/// body; errc::malformed_answer when there is no reportResponse element with an integer
/// responseCode. Tolerates an XML declaration, attributes, whitespace and any child order;
/// decodes the five predefined entities and numeric character references.
[[nodiscard]] core::result<ispws_answer> parse_report_response(std::string_view body);

class ispws_client {
 public:
  /// `base_url` without a trailing slash (default_base_url(env) in production use; a fake's URL
  /// in tests). The client is borrowed and must outlive this object.
  ispws_client(outbound::http_client& http, std::string base_url, ispws_credentials credentials);

  /// GET /status: are the credentials accepted?
  [[nodiscard]] core::result<ispws_answer> status();
  /// POST /submit with a <report> document: opens a report, answers its reportId.
  [[nodiscard]] core::result<ispws_answer> submit(std::string_view report_xml);
  /// POST /upload (multipart/form-data: id = report_id, file = the bytes): answers a fileId.
  [[nodiscard]] core::result<ispws_answer> upload(std::string_view report_id,
                                                  std::string_view file_name,
                                                  std::string_view bytes);
  /// POST /fileinfo with a <fileDetails> document.
  [[nodiscard]] core::result<ispws_answer> fileinfo(std::string_view file_details_xml);
  /// POST /finish (form id = report_id): closes the report.
  [[nodiscard]] core::result<ispws_answer> finish(std::string_view report_id);
  /// POST /retract (form id = report_id): abandons an unfinished report.
  [[nodiscard]] core::result<ispws_answer> retract(std::string_view report_id);

 private:
  core::result<ispws_answer> call(outbound::request r, std::string receipt_body);
  core::result<ispws_answer> post_xml(std::string_view path, std::string_view xml);
  core::result<ispws_answer> post_id(std::string_view path, std::string_view report_id);

  outbound::http_client& http_;
  std::string base_url_;
  std::string authorization_;
};

/// A multipart/form-data body: `fields` (name, value) then one file part named `file_field`.
/// The boundary is chosen so that it occurs in no part; content_type() names it.
struct multipart_body {
  std::string content_type;
  std::string body;
};
[[nodiscard]] multipart_body build_multipart(
    const std::vector<std::pair<std::string, std::string>>& fields, std::string_view file_field,
    std::string_view file_name, std::string_view bytes);

}  // namespace hashguard::reporting

HG_REGISTER_ERRC(hashguard::reporting::errc)
