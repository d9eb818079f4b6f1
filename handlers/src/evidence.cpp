// POST /v1/cases/{id}/files/{content}/reveal (role reviewer): preserved evidence, decrypted
// (hashdb/evidence.hpp); every reveal is audited and marks the file viewed. Only image types
// are sent as such; anything else is opaque bytes, never rendered by the browser.
#include "area.hpp"
#include "case_json.hpp"

#include "hashguard/api/json_io.hpp"
#include "hashguard/core/hex.hpp"
#include "hashguard/hashdb/evidence.hpp"

#include <boost/json.hpp>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

// POST /v1/cases/{id}/files/{content}/reveal
api::response post_reveal(const services& deps, hashdb::connection& c, const api::request& req,
                          const api::auth_context& who) {
  auto id = id_param(req);
  if (!id) return api::response::error(api::errc::not_found, "no such case");
  if (!deps.evidence) {
    return api::response::error(api::errc::not_found, "evidence preservation is off");
  }
  // Files are named by their SHA-256 as hashguard writes it (64 lowercase hex digits). Any
  // other spelling names no file: never sent on to decryption, where a key built from it
  // would fail authentication and be audited as tampering.
  const std::string_view content = req.param("content");
  if (!core::is_canonical_hex(content, 64)) {
    return api::response::error(api::errc::not_found, "no such file in this case");
  }
  std::string purpose = "review";
  if (!req.body.empty()) {  // the body is optional: {"purpose": "..."}
    auto body = api::parse_json_object(req);
    if (!body) return api::response::error(body.error());
    if (auto p = api::string_field(*body, "purpose"); p && !p->empty()) purpose = *p;
  }
  hashdb::evidence_store store(c, *deps.evidence);
  auto r = store.reveal(*id, content, who.key_id, purpose);
  if (!r) return api::response::error(r.error(), deps.retry_after_s);
  // Only image types are sent as such; anything else is opaque bytes.
  const bool image = r->media_type.starts_with("image/") &&
                     r->media_type.find_first_of(";, ") == std::string::npos &&
                     r->media_type != "image/svg+xml";
  auto res = api::response::text(200, std::move(r->bytes),
                                 image ? r->media_type : "application/octet-stream");
  res.headers.push_back({"Cache-Control", "no-store"});
  res.headers.push_back({"X-Content-Type-Options", "nosniff"});
  res.headers.push_back({"Content-Security-Policy", "default-src 'none'"});
  res.headers.push_back({"X-Evidence-SHA256", r->sha256});
  return res;
}

}  // namespace

handler_list evidence_handlers(const services& deps) {
  handler_list out;
  out.push_back({"POST", "/v1/cases/{id}/files/{content}/reveal", db_route(deps, post_reveal)});
  return out;
}

}  // namespace hashguard::handlers::detail
