// send_with_retry: which outcomes are worth another try, and how long to wait before it.
#include "hashguard/outbound/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ctime>
#include <random>
#include <thread>

namespace hashguard::outbound {
namespace {

using std::chrono::milliseconds;

bool retryable(const core::result<response>& outcome) {
  if (!outcome) {
    const auto& ec = outcome.error();
    return ec == errc::resolve_failed || ec == errc::connect_failed || ec == errc::timeout ||
           ec == errc::protocol_error;
  }
  const int s = outcome->status;
  return s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int month_index(std::string_view m) {
  static constexpr std::string_view names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (m == names[i]) return i;
  }
  return -1;
}

// Reads exactly `digits` decimal digits (or 1-`digits` when `exact` is false) from the front.
bool take_number(std::string_view& s, int digits, bool exact, int& out) {
  int n = 0;
  out = 0;
  while (n < digits && n < static_cast<int>(s.size()) &&
         std::isdigit(static_cast<unsigned char>(s[static_cast<std::size_t>(n)]))) {
    out = out * 10 + (s[static_cast<std::size_t>(n)] - '0');
    ++n;
  }
  if (n == 0 || (exact && n != digits)) return false;
  s.remove_prefix(static_cast<std::size_t>(n));
  return true;
}

bool take(std::string_view& s, std::string_view literal) {
  if (s.substr(0, literal.size()) != literal) return false;
  s.remove_prefix(literal.size());
  return true;
}

bool take_time(std::string_view& s, std::tm& tm) {
  return take_number(s, 2, true, tm.tm_hour) && take(s, ":") &&
         take_number(s, 2, true, tm.tm_min) && take(s, ":") && take_number(s, 2, true, tm.tm_sec);
}

bool take_month(std::string_view& s, std::tm& tm) {
  tm.tm_mon = month_index(s.substr(0, 3));
  if (tm.tm_mon < 0) return false;
  s.remove_prefix(3);
  return true;
}

// An HTTP-date (RFC 9110 section 5.6.7): IMF-fixdate, or the obsolete RFC 850 and asctime forms
// a recipient must still accept. Seconds since the epoch, or nullopt.
std::optional<std::time_t> parse_http_date(std::string_view s) {
  std::tm tm{};
  const auto comma = s.find(',');
  bool ok = false;
  if (comma == 3) {  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    s.remove_prefix(4);
    ok = take(s, " ") && take_number(s, 2, true, tm.tm_mday) && take(s, " ") && take_month(s, tm) &&
         take(s, " ") && take_number(s, 4, true, tm.tm_year) && take(s, " ") && take_time(s, tm) &&
         take(s, " GMT") && s.empty();
    tm.tm_year -= 1900;
  } else if (comma != std::string_view::npos) {  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    s.remove_prefix(comma + 1);
    ok = take(s, " ") && take_number(s, 2, true, tm.tm_mday) && take(s, "-") && take_month(s, tm) &&
         take(s, "-") && take_number(s, 2, true, tm.tm_year) && take(s, " ") && take_time(s, tm) &&
         take(s, " GMT") && s.empty();
    if (tm.tm_year < 70) tm.tm_year += 100;
  } else if (s.size() > 4) {  // asctime: "Sun Nov  6 08:49:37 1994"
    s.remove_prefix(4);
    ok = take_month(s, tm) && take(s, " ");
    if (ok && !s.empty() && s.front() == ' ') s.remove_prefix(1);
    ok = ok && take_number(s, 2, false, tm.tm_mday) && take(s, " ") && take_time(s, tm) &&
         take(s, " ") && take_number(s, 4, true, tm.tm_year) && s.empty();
    tm.tm_year -= 1900;
  }
  if (!ok || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  const std::time_t t = ::timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return t;
}

// The wait a Retry-After value asks for, capped; nullopt when it is neither form.
std::optional<milliseconds> retry_after(std::string_view value, milliseconds cap) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    std::uint64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + static_cast<std::uint64_t>(c - '0');
      if (seconds > static_cast<std::uint64_t>(cap.count() / 1000 + 1)) return cap;
    }
    return std::min(cap, milliseconds(seconds * 1000));
  }
  const auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  const auto now = std::chrono::system_clock::now();
  const auto at = std::chrono::system_clock::from_time_t(*when);
  if (at <= now) return milliseconds(0);
  return std::min(cap, std::chrono::duration_cast<milliseconds>(at - now));
}

// Full jitter: uniform in [0, min(max_delay, base_delay * 2^retry)].
milliseconds backoff(const retry_policy& p, int retry, std::mt19937_64& rng) {
  std::int64_t ceiling = std::max<std::int64_t>(0, p.base_delay.count());
  for (int i = 0; i < retry && ceiling < p.max_delay.count(); ++i) ceiling *= 2;
  ceiling = std::min<std::int64_t>(ceiling, std::max<std::int64_t>(0, p.max_delay.count()));
  std::uniform_int_distribution<std::int64_t> pick(0, ceiling);
  return milliseconds(pick(rng));
}

}  // namespace

core::result<response> send_with_retry(http_client& client, const request& r,
                                       const retry_policy& policy, const wait_function& wait) {
  std::mt19937_64 rng{std::random_device{}()};
  const int attempts = std::max(1, policy.max_attempts);
  for (int attempt = 1;; ++attempt) {
    auto outcome = client.send(r);
    if (attempt >= attempts || !retryable(outcome)) return outcome;
    std::optional<milliseconds> delay;
    if (outcome) {
      if (auto value = outcome->header("Retry-After")) {
        delay = retry_after(*value, policy.max_retry_after);
      }
    }
    if (!delay) delay = backoff(policy, attempt - 1, rng);
    const bool go_on = wait ? wait(*delay) : (std::this_thread::sleep_for(*delay), true);
    if (!go_on) return outcome;
  }
}

}  // namespace hashguard::outbound
