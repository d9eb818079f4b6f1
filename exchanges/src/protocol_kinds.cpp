#include "protocol_kinds.hpp"

#include "hashguard/core/parse.hpp"
#include "hashguard/exchanges/ncmec.hpp"
#include "hashguard/exchanges/peer.hpp"
#include "hashguard/exchanges/stopncii.hpp"
#include "hashguard/exchanges/threatexchange.hpp"

#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>

namespace hashguard::exchanges::detail {
namespace {

// Reads one exchange's `setting.*` keys; every key must be read (an unknown one is a typo),
// and the first failure names its key in `problem`.
class settings_reader {
 public:
  settings_reader(const exchange_config& config, std::string& problem)
      : config_(config), problem_(problem) {}

  /// The value of setting.KEY, if present.
  std::optional<std::string> text(std::string_view key) {
    used_.emplace(key);
    const auto it = config_.settings.find(key);
    if (it == config_.settings.end()) return std::nullopt;
    return it->second;
  }

  /// setting.KEY as an integer within [min, max]; `out` unchanged when absent.
  template <typename T>
  bool integer(std::string_view key, T& out, T min, T max) {
    const auto v = text(key);
    if (!v) return true;
    const auto n = core::parse_int<T>(*v, min, max);
    if (!n) {
      return fail("setting." + std::string(key) + ": not an integer in " + std::to_string(min) +
                  ".." + std::to_string(max));
    }
    out = *n;
    return true;
  }

  /// setting.KEY as seconds since the epoch: an integer, or a YYYY-MM-DD date (UTC midnight).
  bool epoch_seconds(std::string_view key, std::int64_t& out) {
    const auto v = text(key);
    if (!v) return true;
    if (const auto n = core::parse_int<std::int64_t>(*v, 0, 253402300799); n) {
      out = *n;
      return true;
    }
    if (const auto us = core::parse_date_us(*v); us && *us >= 0) {
      out = *us / 1000000;
      return true;
    }
    return fail("setting." + std::string(key) +
                ": not seconds since the epoch or a YYYY-MM-DD date");
  }

  /// The base URL: setting.base_url, else the exchange's `url`, else `fallback`.
  std::string base_url(const std::string& fallback) {
    if (auto v = text("base_url")) return *v;
    return config_.url.empty() ? fallback : config_.url;
  }

  /// A secret read from the file setting.KEY names (trailing whitespace dropped).
  bool secret_file(std::string_view key, std::string& out, bool required) {
    const auto path = text(key);
    if (!path) {
      return required ? fail("setting." + std::string(key) + ": missing (a file holding the key)")
                      : true;
    }
    std::ifstream in(*path, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    if (!in.good() && !in.eof()) s.clear();
    if (s.empty())
      return fail("setting." + std::string(key) + ": the file cannot be read or is empty");
    out = std::move(s);
    return true;
  }

  bool credential(std::string& out, std::string_view what) {
    if (config_.credential.empty()) {
      return fail("credential_file or credential_env: missing (the " + std::string(what) + ")");
    }
    out = config_.credential;
    return true;
  }

  /// False (and names the key) when a setting was given that this kind does not read.
  bool no_unknown_keys() {
    for (const auto& [key, value] : config_.settings) {
      if (!used_.contains(key)) return fail("setting." + key + ": not a setting of this kind");
    }
    return true;
  }

  bool fail(std::string message) {
    if (problem_.empty()) problem_ = std::move(message);
    return false;
  }

 private:
  const exchange_config& config_;
  std::string& problem_;
  std::set<std::string, std::less<>> used_;
};

// A factory's own refusal (errc::bad_config) after the reader's checks passed.
template <typename Made>
core::result<std::unique_ptr<source>> built(Made made, std::string& problem,
                                            std::string_view what) {
  if (!made && problem.empty()) problem = std::string(what);
  return made;
}

}  // namespace

core::result<std::unique_ptr<source>> make_ncmec_kind(const exchange_config& config,
                                                      std::string& problem) {
  settings_reader r(config, problem);
  ncmec_settings s;
  s.environment = r.text("environment").value_or("");
  s.base_url = r.base_url("");
  s.username = r.text("username").value_or("");
  s.negative_reason = r.text("negative_reason").value_or("");
  bool ok = r.credential(s.password, "NCMEC password");
  if (s.username.empty()) ok = r.fail("setting.username: missing");
  if (s.environment.empty() && s.base_url.empty()) {
    ok = r.fail("setting.environment: missing (or a base_url)");
  }
  if (const auto ids = r.text("member_ids")) {
    std::stringstream in(*ids);
    for (std::string id; std::getline(in, id, ',');) {
      while (!id.empty() && id.front() == ' ') id.erase(0, 1);
      while (!id.empty() && id.back() == ' ') id.pop_back();
      const auto n = core::parse_int<std::int64_t>(id, 1, std::numeric_limits<std::int64_t>::max());
      if (!n) {
        ok = r.fail("setting.member_ids: not a comma-separated list of member ids");
        break;
      }
      s.member_ids.push_back(*n);
    }
  }
  ok = r.epoch_seconds("start_time", s.start_time) && ok;
  ok = r.integer<std::int64_t>("max_window_entries", s.max_window_entries, 1, 100000000) && ok;
  std::int64_t settle = s.settle.count();
  std::int64_t min_window = s.min_window.count();
  ok = r.integer<std::int64_t>("settle_s", settle, 0, 86400) && ok;
  ok = r.integer<std::int64_t>("min_window_s", min_window, 0, 86400) && ok;
  s.settle = std::chrono::seconds(settle);
  s.min_window = std::chrono::seconds(min_window);
  ok = r.no_unknown_keys() && ok;
  if (!ok) return errc::bad_config;
  return built(make_ncmec_source(std::move(s)), problem,
               "setting.environment: not a known NCMEC environment (industry, test_industry, ...)");
}

core::result<std::unique_ptr<source>> make_stopncii_kind(const exchange_config& config,
                                                         std::string& problem) {
  settings_reader r(config, problem);
  stopncii_settings s;
  s.base_url = r.base_url(s.base_url);
  bool ok = r.credential(s.subscription_key, "StopNCII subscription key");
  ok = r.secret_file("fetch_key_file", s.fetch_function_key, true) && ok;
  ok = r.secret_file("feedback_key_file", s.feedback_function_key, false) && ok;
  ok = r.integer("page_size", s.page_size, 1, 10000) && ok;
  ok = r.epoch_seconds("start_time", s.start_timestamp) && ok;
  ok = r.no_unknown_keys() && ok;
  if (!ok) return errc::bad_config;
  return built(make_stopncii_source(std::move(s)), problem, "setting.base_url: invalid");
}

core::result<std::unique_ptr<source>> make_threatexchange_kind(const exchange_config& config,
                                                               std::string& problem) {
  settings_reader r(config, problem);
  threatexchange_settings s;
  s.base_url = r.base_url(s.base_url);
  bool ok = r.credential(s.access_token, "ThreatExchange access token");
  s.privacy_group = r.text("privacy_group").value_or("");
  if (s.privacy_group.empty() ||
      !core::parse_int<std::uint64_t>(s.privacy_group, 1,
                                      std::numeric_limits<std::uint64_t>::max())) {
    ok = r.fail("setting.privacy_group: missing or not a numeric group id");
  }
  ok = r.integer("page_size", s.page_size, 1, 1000) && ok;
  s.types = r.text("types").value_or("");
  ok = r.no_unknown_keys() && ok;
  if (!ok) return errc::bad_config;
  return built(make_threatexchange_source(std::move(s)), problem, "setting.base_url: invalid");
}

core::result<std::unique_ptr<source>> make_hashguard_kind(const exchange_config& config,
                                                          std::string& problem) {
  settings_reader r(config, problem);
  peer_settings s;
  s.base_url = r.base_url("");
  bool ok = r.credential(s.key, "peer's API key of role exchange");
  if (s.base_url.empty()) ok = r.fail("url: missing (the peer hashguard's address)");
  s.list = r.text("list").value_or("");
  if (s.list.empty()) ok = r.fail("setting.list: missing (the peer's list, by name or id)");
  ok = r.integer("page_size", s.page_size, 1, 10000) && ok;
  ok = r.no_unknown_keys() && ok;
  if (!ok) return errc::bad_config;
  return built(make_peer_source(std::move(s)), problem, "url: invalid");
}

}  // namespace hashguard::exchanges::detail
