// A fake CyberTipline Reporting API (ISPWS) on fake_http_server, for the reporting tests and the
// report benchmark: HTTP Basic auth, the six endpoints, reports that are open until finished or
// retracted, and every XML document checked for its children's XSD sequence order and required
// fields as /work/shared/cybertipline.md gives them (a failure answers 4100).
//
// Answers (reportResponse): 0 success; 1000 server error (knob); 4100 validation failure (a
// document out of order or missing a required field, an incidentDateTime in the future, or the
// knob); 4200 unknown, expired or retracted report (this fake's choice: the facts name no code
// for it); 5102 finish on a finished report. A wrong or missing password is HTTP 401 with no
// reportResponse.
//
// Thread-safety: knobs and counters may be used from the test thread while the server runs.
#pragma once

#include "fake_http_server.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hg_test {

/// The children of the document element of `xml`, in order (names only); empty when `xml` has
/// no document element. Comments, processing instructions and the XML declaration are skipped.
std::vector<std::string> xml_child_names(std::string_view xml);

/// "" when the children of `xml`'s document element follow `order` (each name at most once
/// unless listed in `repeatable`, none unknown) and every name of `required` is present; else
/// what is wrong.
std::string check_sequence(std::string_view xml, const std::vector<std::string>& order,
                           const std::vector<std::string>& repeatable,
                           const std::vector<std::string>& required);

/// A minimal <report> this fake accepts (incidentSummary, one web page, the reporting person).
std::string minimal_report_xml();

/// "" when a <report> document is valid for this fake, else why not.
std::string validate_report(std::string_view xml);
/// "" when a <fileDetails> document is valid for this fake, else why not.
std::string validate_file_details(std::string_view xml);

class fake_ispws {
 public:
  enum class step { status, submit, upload, fileinfo, finish, retract };

  struct report_state {
    std::string report_xml;
    std::vector<std::string> file_ids;
    std::vector<std::string> file_details;  ///< the fileDetails documents received
    std::vector<std::uint64_t> file_sizes;
    bool finished{false};
    bool retracted{false};
    bool expired{false};
  };

  fake_ispws(std::string username, std::string password);
  ~fake_ispws();

  [[nodiscard]] std::string base_url() const;

  // Knobs. Each applies to the next `count` requests of that step (any step when `at` is
  // unset).
  /// Answer responseCode 1000 instead of doing the step.
  void fail_with_1000(step at, int count = 1);
  /// Answer HTTP 503 (no reportResponse) instead of doing the step.
  void fail_with_503(step at, int count = 1);
  /// Wait `delay` before answering (the client's deadline passes first).
  void delay(step at, std::chrono::milliseconds delay, int count = 1);
  /// Answer 4100 to the next submit however valid it is.
  void reject_next_submit();
  /// Do the step, then close the connection without answering (the answer is lost: a crash or
  /// a network failure between NCMEC's commit and the client's receipt).
  void lose_answer(step at, int count = 1);
  /// Delete every open (unfinished) report, as NCMEC does after its expiry.
  void expire_open_reports();
  /// Hold the `nth` next request of step `at` before doing anything with it: held() turns
  /// true and the fake answers nothing (every other request waits too) until release(), which
  /// closes that connection unanswered with nothing done, as if the request never reached
  /// NCMEC. The crash tests kill the client while held: exactly at a step boundary (the
  /// client stored the previous step and sent this one).
  void hold(step at, int nth = 1);
  [[nodiscard]] bool held() const;
  void release();

  // What happened.
  [[nodiscard]] std::map<std::string, report_state> reports() const;
  [[nodiscard]] int finished_reports() const;
  [[nodiscard]] int open_reports() const;
  [[nodiscard]] std::vector<std::string> validation_errors() const;
  [[nodiscard]] std::uint64_t requests() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hg_test
