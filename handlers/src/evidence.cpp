// POST /v1/cases/{id}/files/{content}/reveal (role reviewer): preserved evidence, decrypted
// (hashdb/evidence.hpp), audited. Body (optional): {"purpose": "...", "view": "original" |
// "preview"}.
//  - original (the default): the bytes as preserved, for the UI to show unblurred. Marks the
//    file viewed (fileViewedByEsp) and viewed by this reviewer (which a dismissal needs). Only
//    image types are sent as such; anything else is opaque bytes, never rendered by a browser.
//  - preview: never the bytes. The image is decoded here and reduced to a coarse mosaic (at
//    most 12 cells on its long side, the mean colour of each), sent as JSON for the UI to
//    draw blurred: nothing in it can be unblurred, so it never counts as a view.
#include "area.hpp"
#include "case_json.hpp"

#include "hashguard/api/json_io.hpp"
#include "hashguard/core/hex.hpp"
#include "hashguard/hashdb/evidence.hpp"
#include "hashguard/scanner/decode.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <span>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

constexpr std::uint32_t preview_cells = 12;  // on the long side: shapes, never detail

// The mean colour of each cell of a grid over the first frame; grey images give grey cells.
json::object mosaic(const scanner::pixels& px) {
  const std::uint32_t w = px.width;
  const std::uint32_t h = px.height;
  const std::uint32_t long_side = std::min(preview_cells, std::max(w, h));
  const std::uint32_t cols =
      w >= h ? long_side
             : std::max(1U, static_cast<std::uint32_t>(std::uint64_t{long_side} * w / h));
  const std::uint32_t rows =
      h > w ? long_side
            : std::max(1U, static_cast<std::uint32_t>(std::uint64_t{long_side} * h / w));
  json::array rgb;
  for (std::uint32_t r = 0; r < rows; ++r) {
    for (std::uint32_t c = 0; c < cols; ++c) {
      const std::uint32_t x0 = c * w / cols, x1 = std::max(x0 + 1, (c + 1) * w / cols);
      const std::uint32_t y0 = r * h / rows, y1 = std::max(y0 + 1, (r + 1) * h / rows);
      std::uint64_t sum[3] = {0, 0, 0};
      for (std::uint32_t y = y0; y < y1; ++y) {
        for (std::uint32_t x = x0; x < x1; ++x) {
          const std::size_t at = (std::size_t{y} * w + x) * px.channels;
          for (std::uint32_t k = 0; k < 3; ++k) sum[k] += px.data[at + (px.channels == 3 ? k : 0)];
        }
      }
      const std::uint64_t n = std::uint64_t{x1 - x0} * (y1 - y0);
      for (const auto v : sum) rgb.emplace_back(v / n);
    }
  }
  return json::object{{"view", "preview"}, {"columns", cols}, {"rows", rows}, {"rgb", rgb}};
}

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
  auto mode = hashdb::reveal_mode::original;
  if (!req.body.empty()) {  // the body is optional: {"purpose": "...", "view": "..."}
    auto body = api::parse_json_object(req);
    if (!body) return api::response::error(body.error());
    if (auto p = api::string_field(*body, "purpose"); p && !p->empty()) purpose = *p;
    if (auto v = api::string_field(*body, "view")) {
      if (*v == "preview") {
        mode = hashdb::reveal_mode::preview;
      } else if (*v != "original") {
        return unprocessable("view must be original or preview");
      }
    }
  }
  hashdb::evidence_store store(c, *deps.evidence);
  auto r = store.reveal(*id, content, who.key_id, purpose, mode);
  if (!r) return api::response::error(r.error(), deps.retry_after_s);
  if (mode == hashdb::reveal_mode::preview) {
    const std::span<const std::uint8_t> bytes(
        reinterpret_cast<const std::uint8_t*>(r->bytes.data()), r->bytes.size());
    auto decoded = scanner::decode(bytes);
    if (!decoded || decoded->frames.empty()) {
      return unprocessable("no preview for this file: only its original can be revealed");
    }
    auto res = api::response::json(200, json::serialize(mosaic(decoded->frames.front())));
    res.headers.push_back({"Cache-Control", "no-store"});
    return res;
  }
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
