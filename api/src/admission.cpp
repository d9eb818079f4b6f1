#include "hashguard/api/admission.hpp"

#include <utility>

namespace hashguard::api {

bool valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

namespace {

// The key checks of a route with a role: 401, then 429, then 403. Fills a.caller once the key
// authenticated; false with a.early set when the request is refused.
bool admit_caller(const request_head& head, const admission_rules& rules, core::role needed,
                  admission& a) {
  const auto token = bearer_token(head.authorization);
  std::optional<key_record> key;
  if (token && rules.keys != nullptr) key = rules.keys->authenticate(*token);
  if (!key) {
    a.early = response::error(errc::unauthorized,
                              token ? "unknown API key" : "missing Authorization: Bearer key");
    a.early->headers.push_back({"WWW-Authenticate", "Bearer"});
    return false;
  }
  a.caller.key_id = std::move(key->key_id);
  a.caller.role = key->role;
  a.caller.capabilities = key->capabilities;
  a.caller.lists = std::move(key->lists);
  // Every request a valid key makes takes a token, on every authenticated route and whatever
  // its role: a key's flood is throttled as a whole, and only that key's.
  if (rules.limiter != nullptr) {
    const auto rate = rules.limiter->take(a.caller.key_id, key->rate_per_s, key->burst);
    if (!rate.allowed) {
      a.early = response::error(errc::rate_limited, "rate limit exceeded for this key",
                                rate.retry_after_s);
      return false;
    }
  }
  if (key->role != needed) {
    a.early = response::error(
        errc::forbidden, "this route needs the " + std::string(core::to_string(needed)) + " role");
    return false;
  }
  return true;
}

}  // namespace

admission admit(const request_head& head, const admission_rules& rules) {
  admission a;
  const auto qmark = head.target.find('?');
  a.path = head.target.substr(0, qmark);
  if (qmark != std::string_view::npos) a.query = head.target.substr(qmark + 1);

  if (!head.request_id.empty()) {
    if (!valid_request_id(head.request_id)) {
      a.early = response::error(errc::malformed, "X-Request-Id must be 1-128 visible ASCII");
      return a;
    }
    a.request_id = head.request_id;
  }
  if (a.path.empty() || a.path.front() != '/') {
    a.early = response::error(errc::malformed, "the request target must be an absolute path");
    a.path = {};  // not a path: whatever the client put there stays out of the log
    return a;
  }

  route_match m = rules.routes->match(head.method, a.path);
  if (m.matched == nullptr) {
    if (m.allow.empty()) {
      a.early = response::error(errc::not_found, "no route for " + std::string(a.path));
    } else {
      a.early =
          response::error(errc::method_not_allowed,
                          std::string(head.method) + " is not allowed on " + std::string(a.path));
      a.early->headers.push_back({"Allow", std::move(m.allow)});
    }
    return a;
  }
  a.matched = m.matched;
  const route_spec& spec = a.matched->spec;
  if (spec.role && !admit_caller(head, rules, *spec.role, a)) return a;

  const std::uint64_t limit = rules.limits->body_limit(spec.body);
  if (head.content_length && *head.content_length > limit) {
    a.early = response::error(errc::payload_too_large, "the body is over this route's limit of " +
                                                           std::to_string(limit) + " bytes");
    return a;
  }
  a.params = std::move(m.params);
  a.body_limit = limit;
  return a;
}

}  // namespace hashguard::api
