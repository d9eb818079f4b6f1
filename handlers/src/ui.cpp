#include "hashguard/handlers/ui.hpp"

#include "area.hpp"

#include "hashguard/api/errors.hpp"

#include <fstream>
#include <sstream>

namespace hashguard::handlers {
namespace {

constexpr std::string_view csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

api::response not_found() {
  auto r = api::response::error(api::errc::not_found, "no such file");
  add_ui_security_headers(r);
  return r;
}

std::optional<std::string> read_from(const std::string& directory, std::string_view name) {
  std::ifstream in(directory + "/" + std::string(name), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string_view content_type_for(std::string_view name) noexcept {
  const auto dot = name.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

bool safe_ui_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
    if (!ok) return false;
  }
  return name.find("..") == std::string_view::npos;
}

void add_ui_security_headers(api::response& r) {
  r.headers.push_back({"Content-Security-Policy", std::string(csp)});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  r.headers.push_back({"Referrer-Policy", "no-referrer"});
  r.headers.push_back({"X-Frame-Options", "DENY"});
  r.headers.push_back({"Cache-Control", "no-cache"});
}

void declare_ui_config(core::config& cfg) {
  cfg.declare("http.ui_dir", core::config_type::string, "",
              "serve the web UI from this directory instead of the copy built in");
}

namespace detail {

handler_list ui_handlers(const services& deps) {
  auto serve = [directory = deps.ui_dir](std::string_view name) -> api::response {
    if (!safe_ui_name(name)) return not_found();
    std::string body;
    if (directory.empty()) {
      const auto& files = embedded_ui_files();
      auto it = files.find(name);
      if (it == files.end()) return not_found();
      body = std::string(it->second);
    } else {
      auto text = read_from(directory, name);
      if (!text) return not_found();
      body = std::move(*text);
    }
    auto r = api::response::text(200, std::move(body), std::string(content_type_for(name)));
    add_ui_security_headers(r);
    return r;
  };
  handler_list out;
  out.push_back({"GET", "/ui", [](const api::request&, const api::auth_context&) {
                   auto r = api::response::text(308, "", "text/plain; charset=utf-8");
                   r.headers.push_back({"Location", "/ui/"});
                   add_ui_security_headers(r);
                   return r;
                 }});
  out.push_back({"GET", "/ui/", [serve](const api::request&, const api::auth_context&) {
                   return serve("index.html");
                 }});
  out.push_back({"GET", "/ui/{file}", [serve](const api::request& req, const api::auth_context&) {
                   return serve(req.param("file"));
                 }});
  return out;
}

}  // namespace detail
}  // namespace hashguard::handlers
