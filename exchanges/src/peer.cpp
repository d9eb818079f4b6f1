#include "hashguard/exchanges/peer.hpp"

#include "hashguard/exchanges/peer_wire.hpp"
#include "http_call.hpp"

#include <mutex>

namespace hashguard::exchanges {
namespace {

class peer_source final : public source {
 public:
  explicit peer_source(peer_settings s)
      : settings_(std::move(s)), http_(settings_.http, settings_.retry) {}

  std::string_view kind() const noexcept override { return "hashguard"; }
  void cancel() noexcept override { http_.cancel(); }

  core::result<page> fetch(std::string_view checkpoint) override {
    set_detail({});
    auto sent = http_.send(peer::changes_request(settings_.base_url, settings_.list, settings_.key,
                                                 checkpoint, settings_.page_size));
    if (!sent) return sent.error();
    if (auto bad = detail::status_error(sent->status); !bad) {
      // The peer's own words (a reshare refusal names the exchange): never the key.
      set_detail("peer answered " + std::to_string(sent->status) + [&] {
        const auto m = peer::error_message(sent->body);
        return m.empty() ? std::string() : ": " + m;
      }());
      return bad.error();
    }
    return peer::parse_changes(sent->body);
  }

  std::string last_error_detail() const override {
    const std::lock_guard lock(mu_);
    return detail_;
  }

 private:
  void set_detail(std::string d) {
    const std::lock_guard lock(mu_);
    detail_ = std::move(d);
  }

  peer_settings settings_;
  detail::http_call http_;
  mutable std::mutex mu_;
  std::string detail_;  // under mu_
};

}  // namespace

core::result<std::unique_ptr<source>> make_peer_source(peer_settings settings) {
  while (!settings.base_url.empty() && settings.base_url.back() == '/')
    settings.base_url.pop_back();
  if (settings.base_url.empty() || settings.key.empty() || settings.list.empty() ||
      settings.page_size < 1 || settings.page_size > 10000) {
    return make_error_code(errc::bad_config);
  }
  return std::unique_ptr<source>(std::make_unique<peer_source>(std::move(settings)));
}

}  // namespace hashguard::exchanges
