#include "hashguard/exchanges/ncmec.hpp"

#include "hashguard/exchanges/ncmec_wire.hpp"
#include "http_call.hpp"

#include <algorithm>

namespace hashguard::exchanges {
namespace {

// A reason guid is hex digits and dashes; a hashguard reason text is not one.
bool looks_like_guid(std::string_view t) {
  return !t.empty() && t.size() <= 64 && std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-';
  });
}

class ncmec_source final : public source {
 public:
  ncmec_source(ncmec_settings s, std::string base)
      : settings_(std::move(s)),
        base_(std::move(base)),
        auth_(detail::basic_authorization(settings_.username, settings_.password)),
        http_(settings_.http, settings_.retry) {}

  std::string_view kind() const noexcept override { return "ncmec"; }
  bool takes_feedback() const noexcept override { return true; }
  void cancel() noexcept override { http_.cancel(); }

  core::result<page> fetch(std::string_view checkpoint_text) override {
    auto decoded = ncmec::decode_checkpoint(checkpoint_text);
    if (!decoded) return decoded.error();
    ncmec::checkpoint c = std::move(*decoded);
    const std::int64_t now = detail::now_seconds();
    const std::int64_t newest = now - settings_.settle.count();
    if (checkpoint_text.empty()) c.from = settings_.start_time;
    if (c.to == 0) {  // open the next window
      const std::int64_t span = c.span > 0 ? c.span : newest - c.from;
      c.to = std::min(c.from + std::max<std::int64_t>(span, 1), newest);
      c.next.clear();
      if (c.to <= c.from) {
        page idle;
        idle.checkpoint = std::string(checkpoint_text);
        return idle;
      }
    }
    if (!c.next.empty() && now - c.next_at > settings_.next_link_lifetime.count()) c.next.clear();

    ncmec::parse_options options;
    options.only_member_ids = settings_.member_ids;
    ncmec::entries_answer answer;
    for (int narrowed = 0;; ++narrowed) {
      const bool first_page = c.next.empty();
      auto got = get(first_page ? ncmec::entries_url(base_, c.from, c.to)
                                : ncmec::next_url(base_, c.next));
      if (!got) return got.error();
      auto parsed = ncmec::parse_entries(got->body, options);
      if (!parsed) return parsed.error();
      answer = std::move(*parsed);
      const std::int64_t width = c.to - c.from;
      if (first_page && !answer.next.empty() &&
          answer.estimated_total > settings_.max_window_entries && width > 1 && narrowed < 40) {
        // Too much for one window: narrow it in proportion (halved again for uneven spread).
        const auto target = std::max<std::int64_t>(
            1, static_cast<std::int64_t>(static_cast<double>(width) *
                                         static_cast<double>(settings_.max_window_entries) /
                                         static_cast<double>(answer.estimated_total) / 2.0));
        c.to = c.from + std::min(target, width / 2);
        continue;
      }
      break;
    }

    page p;
    p.entries = std::move(answer.entries);
    if (!answer.next.empty()) {
      c.span = c.to - c.from;
      c.next = std::move(answer.next);
      c.next_at = now;
      p.more = true;
    } else {
      const std::int64_t width = c.to - c.from;
      const bool small = answer.estimated_total < settings_.max_window_entries / 4;
      c.span = small ? width * 2 : width;
      c.from = c.to;
      c.to = 0;
      c.next.clear();
      p.more = c.from < newest - settings_.min_window.count();
    }
    p.checkpoint = ncmec::encode_checkpoint(c);
    return p;
  }

  core::result<void> send_feedback(const feedback& f) override {
    auto url = ncmec::feedback_url(base_, f.source_id, f.signal);
    if (!url) return url.error();
    std::string reason;
    if (!f.positive) {
      reason = looks_like_guid(f.tag) ? f.tag : settings_.negative_reason;
      if (reason.empty()) {
        auto reasons_url = ncmec::feedback_reasons_url(base_, f.signal);
        if (!reasons_url) return reasons_url.error();
        auto got = get(*reasons_url);
        if (!got) return got.error();
        auto reasons = ncmec::parse_feedback_reasons(got->body);
        if (!reasons) return reasons.error();
        if (reasons->size() != 1) return make_error_code(errc::bad_config);
        reason = reasons->front().guid;
      }
    }
    outbound::request r;
    r.method = "PUT";
    r.url = std::move(*url);
    r.headers.push_back({"Authorization", auth_});
    r.content_type = "application/xml; charset=utf-8";
    r.body = ncmec::feedback_body(f.positive, reason);
    auto sent = http_.send(r);
    if (!sent) return sent.error();
    return detail::status_error(sent->status);
  }

 private:
  core::result<outbound::response> get(std::string url) {
    outbound::request r;
    r.method = "GET";
    r.url = std::move(url);
    r.headers.push_back({"Authorization", auth_});
    r.headers.push_back({"Accept", "application/xml"});
    auto sent = http_.send(r);
    if (!sent) return sent.error();
    if (auto bad = detail::status_error(sent->status); !bad) return bad.error();
    return sent;
  }

  ncmec_settings settings_;
  std::string base_;
  std::string auth_;
  detail::http_call http_;
};

}  // namespace

core::result<std::unique_ptr<source>> make_ncmec_source(ncmec_settings settings) {
  if (settings.username.empty() || settings.password.empty())
    return make_error_code(errc::bad_config);
  std::string base = settings.base_url;
  if (base.empty()) {
    const auto known = ncmec::environment_base_url(settings.environment);
    if (!known) return make_error_code(errc::bad_config);
    base = *known;
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (settings.max_window_entries < 1) return make_error_code(errc::bad_config);
  return std::unique_ptr<source>(
      std::make_unique<ncmec_source>(std::move(settings), std::move(base)));
}

}  // namespace hashguard::exchanges
