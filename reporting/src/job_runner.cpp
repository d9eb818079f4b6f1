#include "hashguard/reporting/job_runner.hpp"

#include <string>
#include <utility>

namespace hashguard::reporting {

namespace {

constexpr int report_gone = 4200;  // unknown, expired or retracted report (see fake_ispws.hpp)

// The receipt of one call: the exchange when the service answered, else why not.
hashdb::report_receipt receipt_of(const hashdb::report_job& j, const std::string& step,
                                  const core::result<ispws_answer>& a) {
  hashdb::report_receipt r;
  r.step = step;
  if (step == "upload" || step == "fileinfo") r.file_index = j.file_index;
  r.attempt = j.attempts + 1;
  if (a) {
    r.method = a->exchange.method;
    r.url = a->exchange.url;
    r.request_body = a->exchange.request_body;
    r.http_status = a->exchange.http_status;
    r.response_code = a->response_code;
    r.response_body = a->exchange.response_body;
  } else {
    r.error = a.error().message();
  }
  return r;
}

hashdb::job_update position_of(const hashdb::report_job& j) {
  hashdb::job_update u;
  u.state = j.state;
  u.step = j.step;
  u.file_index = j.file_index;
  u.file_count = j.file_count;
  u.report_id = j.report_id;
  u.file_ids = j.file_ids;
  u.attempts = j.attempts;
  u.restarts = j.restarts;
  u.last_error = j.last_error;
  return u;
}

std::string describe(const std::string& step, const core::result<ispws_answer>& a) {
  if (!a) return step + ": " + a.error().message();
  return step + ": responseCode " + std::to_string(a->response_code) +
         (a->description.empty() ? "" : " (" + a->description + ")");
}

}  // namespace

struct job_runner::step_result {
  hashdb::report_receipt receipt;
  hashdb::job_update update;
  bool failed_attempt{false};
};

job_runner::job_runner(hashdb::report_job_store& jobs, ispws_client& client, content_source content,
                       runner_options options)
    : jobs_(jobs), client_(client), content_(std::move(content)), options_(std::move(options)) {}

job_runner::step_result job_runner::do_step(const hashdb::report_job& j, const report_content& c,
                                            const std::optional<std::string>& withdraw) {
  step_result s;
  s.update = position_of(j);
  hashdb::job_update& u = s.update;
  const bool open = j.report_id.has_value();
  const int max_attempts = options_.max_attempts < 1 ? 1 : options_.max_attempts;

  // The open report must be finished before NCMEC deletes it (and must describe the files
  // sent): otherwise withdraw it and start again.
  std::string step = j.step;
  if (open && withdraw && step != "retract" && step != "submit") {
    step = "retract";
    u.last_error = *withdraw;
  }

  core::result<ispws_answer> a = errc::malformed_answer;
  if (step == "submit") {
    a = client_.submit(c.report_xml);
  } else if (step == "upload") {
    const auto& f = c.files.at(static_cast<std::size_t>(j.file_index));
    if (f.load) {
      // A failure to produce the bytes (evidence unreadable) is a failed try of the upload.
      auto bytes = f.load();
      a = bytes ? client_.upload(*j.report_id, f.name, *bytes)
                : core::result<ispws_answer>(bytes.error());
    } else {
      a = client_.upload(*j.report_id, f.name, f.bytes);
    }
  } else if (step == "fileinfo") {
    const auto i = static_cast<std::size_t>(j.file_index);
    a = client_.fileinfo(c.file_details(i, *j.report_id, j.file_ids.at(i)));
  } else if (step == "finish") {
    a = client_.finish(*j.report_id);
  } else {  // retract
    a = client_.retract(*j.report_id);
  }
  s.receipt = receipt_of(j, step, a);
  const int code = a ? a->response_code : -1;

  auto fail_attempt = [&](std::string why) {
    s.failed_attempt = true;
    u.attempts = j.attempts + 1;
    u.last_error = std::move(why);
    u.retry_after = options_.retry_delay;
    if (step == "retract") {
      // The tries of the step that failed, then as many for the retract itself.
      if (u.attempts >= 2 * max_attempts) {
        u.state = "failed";
        u.last_error = *u.last_error + "; report " + *j.report_id +
                       " could not be retracted: NCMEC deletes it when it expires";
      }
    } else if (u.attempts >= max_attempts) {
      if (open) {
        u.step = "retract";  // never leave it open: retract, then fail
        u.retry_after = std::chrono::milliseconds(0);
      } else {
        u.state = "failed";
      }
    }
  };

  if (step == "retract") {
    if (code == response_codes::success || code == report_gone) {
      u.report_id.reset();
      u.file_ids.clear();
      u.file_index = 0;
      u.step = "submit";
      if (j.attempts >= max_attempts) {
        u.state = "failed";  // given up on (attempts or a 4100): the report is withdrawn
      } else {
        u.restarts = j.restarts + 1;
        u.attempts = 0;
      }
    } else {
      fail_attempt(describe(step, a));
    }
    return s;
  }
  if (code == response_codes::validation_failed) {
    u.last_error = describe(step, a) + ": not retried";
    u.attempts = max_attempts;
    if (open) {
      u.step = "retract";
    } else {
      u.state = "failed";
    }
    return s;
  }
  if (open && code == report_gone) {
    u.report_id.reset();
    u.file_ids.clear();
    u.file_index = 0;
    u.step = "submit";
    u.restarts = j.restarts + 1;
    u.attempts = 0;
    u.last_error = describe(step, a) + ": the report is gone, filed again";
    return s;
  }
  const bool done = code == response_codes::success ||
                    (step == "finish" && code == response_codes::already_finished);
  if (!done) {
    fail_attempt(describe(step, a));
    return s;
  }
  u.attempts = 0;
  u.last_error.reset();
  const int files = static_cast<int>(c.files.size());
  if (step == "submit") {
    u.report_id = a->report_id;
    u.file_ids.clear();
    u.file_count = files;
    u.file_index = 0;
    u.step = files > 0 ? "upload" : "finish";
  } else if (step == "upload") {
    u.file_ids.resize(static_cast<std::size_t>(j.file_index));
    u.file_ids.push_back(a->file_id);
    u.step = "fileinfo";
  } else if (step == "fileinfo") {
    if (j.file_index + 1 < files) {
      u.file_index = j.file_index + 1;
      u.step = "upload";
    } else {
      u.step = "finish";
    }
  } else {  // finish
    u.step = "done";
    u.state = "finished";
  }
  return s;
}

core::result<std::optional<hashdb::report_job>> job_runner::run_one() {
  auto claimed = jobs_.claim(options_.owner, options_.lease);
  if (!claimed) return claimed.error();
  if (!*claimed) return std::optional<hashdb::report_job>();
  hashdb::report_job j = std::move(**claimed);
  int steps = 0;
  while (j.state == "queued") {
    if (options_.stop_after_steps && steps >= *options_.stop_after_steps) {
      return std::optional<hashdb::report_job>(j);  // as a crash: the lease stays until it expires
    }
    auto content = content_(j);
    if (!content) return content.error();
    std::optional<std::string> withdraw;
    if (j.open_deadline_passed) {
      withdraw = "the open report passed its deadline: retracted and filed again";
    } else if (j.report_id && static_cast<std::size_t>(j.file_count) != content->files.size()) {
      withdraw = "the case's files changed under the open report: retracted and filed again";
    }
    step_result s = do_step(j, *content, withdraw);
    auto stored = jobs_.record_step(j.id, options_.owner, options_.lease, s.receipt, s.update,
                                    options_.actor);
    if (!stored) return stored.error();
    j = std::move(*stored);
    ++steps;
    if (s.failed_attempt && j.state == "queued" && s.update.retry_after.count() > 0) {
      if (auto r = jobs_.release(j.id, options_.owner); !r) return r.error();
      break;
    }
  }
  return std::optional<hashdb::report_job>(j);
}

}  // namespace hashguard::reporting
