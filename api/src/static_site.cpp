#include "hashguard/api/static_site.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

namespace hashguard::api {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::pair<std::string_view, std::string_view>, 16> types{{
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".webp", "image/webp"},
}};

// A request path is served only when every segment is an ordinary name.
bool clean_relative(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    const std::string_view seg = path.substr(start, end - start);
    const bool last = slash == std::string_view::npos;
    if (seg == "." || seg == "..") return false;
    if (seg.empty() && !last) return false;  // "a//b" or a leading '/'
    if (seg.find('\\') != std::string_view::npos || seg.find('\0') != std::string_view::npos) {
      return false;
    }
    if (last) break;
    start = end + 1;
  }
  return true;
}

}  // namespace

std::string_view static_site_content_type(std::string_view file_name) {
  const auto dot = file_name.rfind('.');
  if (dot != std::string_view::npos) {
    const auto ext = file_name.substr(dot);
    for (const auto& [e, t] : types) {
      if (iequals(e, ext)) return t;
    }
  }
  return "application/octet-stream";
}

core::result<std::shared_ptr<const static_site>> static_site::load(const std::string& dir,
                                                                   std::size_t max_bytes) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return errc::not_found;
  auto site = std::make_shared<static_site>();
  std::size_t total = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    if (!in) continue;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    total += bytes.size();
    if (total > max_bytes) return errc::payload_too_large;
    const std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (ec) return errc::not_found;
    site->files_[rel] = file{std::string(static_site_content_type(rel)), std::move(bytes)};
  }
  if (ec) return errc::not_found;
  return std::shared_ptr<const static_site>(std::move(site));
}

response static_site::serve(std::string_view relative_path) const {
  if (!clean_relative(relative_path)) return response::error(errc::not_found, "no such file");
  std::string key(relative_path);
  if (key.empty() || key.back() == '/') key += "index.html";
  auto it = files_.find(key);
  if (it == files_.end()) return response::error(errc::not_found, "no such file");
  response r = response::text(200, it->second.bytes, it->second.content_type);
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  r.headers.push_back({"Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                       "frame-ancestors 'none'; base-uri 'none'"});
  r.headers.push_back({"Referrer-Policy", "no-referrer"});
  r.headers.push_back({"Cache-Control", "no-cache"});
  return r;
}

void add_static_routes(route_table& table, std::shared_ptr<const static_site> site,
                       const std::string& prefix) {
  route_spec root{"GET",      prefix,           std::nullopt,
                  run_on::io, body_class::none, "the web UI (redirect to " + prefix + "/)"};
  table.add(std::move(root), sync_handler([prefix](const request&, const auth_context&) {
              response r = response::text(308, "", "text/plain");
              r.headers.push_back({"Location", prefix + "/"});
              return r;
            }));
  route_spec files{"GET",      prefix + "/{path...}", std::nullopt,
                   run_on::io, body_class::none,      "the web UI's static files"};
  table.add(std::move(files), sync_handler([site](const request& req, const auth_context&) {
              return site->serve(req.param("path"));
            }));
}

}  // namespace hashguard::api
