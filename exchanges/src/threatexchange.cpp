#include "hashguard/exchanges/threatexchange.hpp"

#include "hashguard/exchanges/threatexchange_wire.hpp"
#include "http_call.hpp"

#include <algorithm>

namespace hashguard::exchanges {
namespace {

class threatexchange_source final : public source {
 public:
  explicit threatexchange_source(threatexchange_settings s)
      : settings_(std::move(s)), http_(settings_.http, settings_.retry) {}

  std::string_view kind() const noexcept override { return "threatexchange"; }
  void cancel() noexcept override { http_.cancel(); }

  core::result<page> fetch(std::string_view checkpoint_text) override {
    auto decoded = threatexchange::decode_checkpoint(checkpoint_text);
    if (!decoded) return decoded.error();
    threatexchange::checkpoint c = std::move(*decoded);
    const std::int64_t now = detail::now_seconds();
    bool restart = false;
    if (!checkpoint_text.empty() && now - c.fetched_at > threatexchange::restart_after_seconds) {
      c = {};  // deletions since then may be gone: everything again
      restart = true;
    }

    auto sent = http_.send(threatexchange::updates_request(
        settings_.base_url, settings_.access_token, settings_.privacy_group, c.start, c.after,
        settings_.page_size, settings_.types));
    if (!sent) return sent.error();
    if (threatexchange::is_token_error(sent->status, sent->body)) {
      return make_error_code(errc::unauthorized);
    }
    if (auto bad = detail::status_error(sent->status); !bad) return bad.error();
    auto answer = threatexchange::parse_updates(sent->body);
    if (!answer) return answer.error();

    page p;
    p.entries = std::move(answer->entries);
    p.restart = restart;
    c.high = std::max(c.high, answer->max_last_updated);
    c.fetched_at = now;
    if (!answer->after.empty()) {
      c.after = std::move(answer->after);
      p.more = true;
    } else {
      c.start = std::max(c.start, c.high);
      c.after.clear();
    }
    p.checkpoint = threatexchange::encode_checkpoint(c);
    return p;
  }

 private:
  threatexchange_settings settings_;
  detail::http_call http_;
};

}  // namespace

core::result<std::unique_ptr<source>> make_threatexchange_source(threatexchange_settings settings) {
  while (!settings.base_url.empty() && settings.base_url.back() == '/')
    settings.base_url.pop_back();
  const bool numeric_group =
      !settings.privacy_group.empty() &&
      std::all_of(settings.privacy_group.begin(), settings.privacy_group.end(),
                  [](char ch) { return ch >= '0' && ch <= '9'; });
  if (settings.base_url.empty() || settings.access_token.empty() || !numeric_group ||
      settings.page_size < 1 || settings.page_size > 1000) {
    return make_error_code(errc::bad_config);
  }
  return std::unique_ptr<source>(std::make_unique<threatexchange_source>(std::move(settings)));
}

}  // namespace hashguard::exchanges
