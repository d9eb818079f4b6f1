#include "hashguard/api/http.hpp"

#include "hashguard/api/router.hpp"

#include <unistd.h>

#include <atomic>
#include <mutex>

namespace hashguard::api {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> request::header(std::string_view name) const {
  for (const auto& f : headers) {
    if (iequals(f.name, name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

std::optional<std::string> request::query_param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string key = percent_decode(pair.substr(0, eq), true);
    if (key != name) continue;
    if (eq == std::string_view::npos) return std::string{};
    return percent_decode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

std::string_view request::param(std::string_view name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string_view{} : std::string_view(it->second);
}

body_file::~body_file() {
  if (fd_ >= 0) ::close(fd_);
}

response response::json(int status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

response response::text(int status, std::string body, std::string content_type) {
  response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

response response::error(std::string_view code_name, std::string_view message, int retry_after_s) {
  response r = json(status_for_name(code_name), error_json(code_name, message));
  r.error_code = code_name;
  if (wants_retry_after(r.status) && retry_after_s > 0) {
    r.headers.push_back({"Retry-After", std::to_string(retry_after_s)});
  }
  return r;
}

response response::error(errc code, std::string_view message, int retry_after_s) {
  return error(api_category().code_name(static_cast<int>(code)), message, retry_after_s);
}

response response::error(const core::error_code& ec, int retry_after_s) {
  return error(core::error_name(ec), ec.message(), retry_after_s);
}

std::optional<std::string_view> response::header(std::string_view name) const {
  for (const auto& f : headers) {
    if (iequals(f.name, name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

struct responder::state {
  explicit state(sink s) : out(std::move(s)) {}
  ~state() {
    // A handler that dropped its responder without answering is a bug; the connection still
    // gets an answer instead of waiting forever.
    if (!done.exchange(true) && out) {
      try {
        out(response::error(errc::internal, "the handler produced no response"));
      } catch (...) {  // NOLINT(bugprone-empty-catch): nothing else to do in a destructor
      }
    }
  }
  sink out;
  std::atomic<bool> done{false};
};

responder::responder(sink s) : state_(std::make_shared<state>(std::move(s))) {}

void responder::operator()(response r) const {
  if (!state_ || state_->done.exchange(true)) return;
  // Only the caller that won the exchange touches the sink. Releasing it at once matters: it
  // holds the connection's executor, and a handler may keep a copy of its responder (in a
  // thread, a queue) after the server is gone; that copy must hold nothing of the server.
  sink out = std::move(state_->out);
  state_->out = nullptr;
  out(std::move(r));
}

bool responder::called() const noexcept {
  return state_ && state_->done.load();
}

async_handler make_async(sync_handler h) {
  return [h = std::move(h)](const request& req, const auth_context& auth, responder done) {
    done(h(req, auth));
  };
}

}  // namespace hashguard::api
