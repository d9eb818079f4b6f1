#include "hashguard/exchanges/stopncii.hpp"

#include "hashguard/exchanges/stopncii_wire.hpp"
#include "http_call.hpp"

#include <algorithm>

namespace hashguard::exchanges {
namespace {

class stopncii_source final : public source {
 public:
  explicit stopncii_source(stopncii_settings s)
      : settings_(std::move(s)),
        keys_{settings_.subscription_key, settings_.fetch_function_key,
              settings_.feedback_function_key},
        http_(settings_.http, settings_.retry) {}

  std::string_view kind() const noexcept override { return "stopncii"; }
  bool takes_feedback() const noexcept override { return !keys_.feedback_function_key.empty(); }
  void cancel() noexcept override { http_.cancel(); }

  core::result<page> fetch(std::string_view checkpoint_text) override {
    auto decoded = stopncii::decode_checkpoint(checkpoint_text);
    if (!decoded) return decoded.error();
    stopncii::checkpoint c = std::move(*decoded);
    if (checkpoint_text.empty()) c.start = settings_.start_timestamp;
    const std::int64_t now = detail::now_seconds();
    if (!c.token.empty() && now - c.token_at > settings_.token_lifetime.count()) c.token.clear();

    auto sent = http_.send(
        stopncii::fetch_request(settings_.base_url, keys_, c.start, settings_.page_size, c.token));
    if (!sent) return sent.error();
    if (auto bad = detail::status_error(sent->status); !bad) return bad.error();
    auto answer = stopncii::parse_fetch_answer(sent->body);
    if (!answer) return answer.error();

    page p;
    p.entries = std::move(answer->entries);
    if (answer->has_more) {
      c.token = std::move(answer->next_page_token);
      c.token_at = now;
      p.more = true;
    } else {
      c.start = std::max(c.start, answer->next_set_timestamp);
      c.token.clear();
      c.token_at = 0;
    }
    p.checkpoint = stopncii::encode_checkpoint(c);
    return p;
  }

  core::result<void> send_feedback(const feedback& f) override {
    auto request = stopncii::feedback_request(settings_.base_url, keys_, f);
    if (!request) return request.error();
    auto sent = http_.send(*request);
    if (!sent) return sent.error();
    return detail::status_error(sent->status);
  }

 private:
  stopncii_settings settings_;
  stopncii::keys keys_;
  detail::http_call http_;
};

}  // namespace

core::result<std::unique_ptr<source>> make_stopncii_source(stopncii_settings settings) {
  while (!settings.base_url.empty() && settings.base_url.back() == '/')
    settings.base_url.pop_back();
  if (settings.base_url.empty() || settings.subscription_key.empty() ||
      settings.fetch_function_key.empty() || settings.page_size < 1 || settings.page_size > 10000) {
    return make_error_code(errc::bad_config);
  }
  return std::unique_ptr<source>(std::make_unique<stopncii_source>(std::move(settings)));
}

}  // namespace hashguard::exchanges
