#include "hit_view.hpp"

#include <utility>

namespace hashguard::handlers::detail {

boost::json::object visible_hit(boost::json::object full, const api::auth_context& caller) {
  if (caller.capabilities.has(core::capability::match_details)) return full;
  boost::json::object shown;
  for (const std::string_view field : public_hit_fields) {
    if (auto* v = full.if_contains(field)) shown[field] = std::move(*v);
  }
  return shown;
}

boost::json::array visible_hits(boost::json::array full, const api::auth_context& caller) {
  for (auto& hit : full) {
    if (hit.is_object()) hit = visible_hit(std::move(hit.as_object()), caller);
  }
  return full;
}

}  // namespace hashguard::handlers::detail
