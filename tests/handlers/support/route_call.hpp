// Calls a registered route in process, as the server would after admission: the route is
// matched by method and path, its path parameters bound, and its handler called with the
// caller's key id and role. No socket, no thread hop: handler tests run on the test's thread.
#pragma once

#include "hashguard/api/router.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hg_test {

struct route_call {
  std::string method{"GET"};
  std::string target;  ///< path and query: "/v1/cases?limit=5"
  std::string body;
  std::optional<std::string> content_type;  ///< sent as Content-Type when set
  std::string key_id{"k_0123456789ab"};
  std::optional<hashguard::core::role> role;
  hashguard::core::capability_set capabilities{};  ///< granted to the caller's key
};

inline hashguard::api::response call_route(const hashguard::api::route_table& table,
                                           const route_call& c) {
  namespace api = hashguard::api;
  api::request req;
  req.method = c.method;
  req.target = c.target;
  const auto q = c.target.find('?');
  req.path = c.target.substr(0, q);
  req.query = q == std::string::npos ? "" : c.target.substr(q + 1);
  req.body = c.body;
  if (c.content_type) req.headers.push_back({"Content-Type", *c.content_type});
  const auto m = table.match(req.method, req.path);
  if (m.matched == nullptr) throw std::runtime_error("no route for " + c.method + " " + req.path);
  req.params = m.params;
  api::auth_context who{c.key_id, c.role ? c.role : m.matched->spec.role, c.capabilities};
  api::response out;
  m.matched->handler(req, who, api::responder([&](api::response r) { out = std::move(r); }));
  return out;
}

/// The body of a JSON answer (throws when it is not JSON).
inline boost::json::value json_of(const hashguard::api::response& r) {
  return boost::json::parse(r.body);
}

/// The error code of an error answer ("" when the body has none).
inline std::string error_code_of(const hashguard::api::response& r) {
  boost::json::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) return {};
  const auto* e = v.as_object().if_contains("error");
  if (e == nullptr || !e->is_object()) return {};
  const auto* code = e->as_object().if_contains("code");
  return code != nullptr && code->is_string() ? std::string(code->as_string()) : std::string{};
}

}  // namespace hg_test
