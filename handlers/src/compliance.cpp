// The compliance routes: the audit trail and its check, and the exports.
//   GET /v1/audit?limit=&before=&actor=&action=&case=&from=&to=
//                                             the trail, newest first, filtered
//   GET /v1/exports/audit?format=&actor=&action=&case=&from=&to=
//                                             the filtered trail, oldest first, streamed
//   GET /v1/audit/verify                      the hash chain's check
//   GET /v1/exports/cases|events?from=&to=&format=csv|json
//   GET /v1/exports/aggregate?from=&to=&period=day|week|month&format=
//   GET /v1/exports/cases/{id}/cybertipline   tar package, or ?part=report.xml
// Exports are generated into an unlinked temporary file in deps.spill_dir and sent from it
// (Content-Length, streamed in chunks): memory stays bounded, and the custody record's SHA-256
// (also sent as X-Export-SHA256) is that of exactly the bytes of the body.
#include "area.hpp"
#include "case_json.hpp"

#include "hashguard/api/json_io.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/audit_config.hpp"
#include "hashguard/hashdb/export.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include <boost/json.hpp>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

// from/to of an export: both required, from < to.
std::optional<hashdb::export_range> range_of(const api::request& req) {
  auto from = req.query_param("from");
  auto to = req.query_param("to");
  if (!from || !to) return std::nullopt;
  auto f = core::parse_utc_time_us(*from);
  auto t = core::parse_utc_time_us(*to);
  if (!f || !t || *t <= *f) return std::nullopt;
  return hashdb::export_range{*f, *t};
}

// Where an export goes while it is generated: an unlinked temporary file (mode 0600, in the
// configured directory), so a large export never sits in memory and the answer can be sent
// from the file with its length and hash known. Writes are buffered; a failed write throws,
// which aborts the export (hashdb::exporter: io_error, no custody record).
class spill_file {
 public:
  static std::unique_ptr<spill_file> open(const std::filesystem::path& dir) {
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      // No O_TMPFILE on this file system: a named file, unlinked at once.
      std::string name = (dir / "hg-export-XXXXXX").string();
      fd = ::mkostemp(name.data(), O_CLOEXEC);
      if (fd >= 0) ::unlink(name.c_str());
    }
    if (fd < 0) return nullptr;
    return std::unique_ptr<spill_file>(new spill_file(fd));
  }
  void write(std::string_view chunk) {
    if (buf_.size() + chunk.size() > buf_limit) flush();
    if (chunk.size() >= buf_limit) {
      put(chunk);
    } else {
      buf_.append(chunk);
    }
  }
  void flush() {
    put(buf_);
    buf_.clear();
  }
  /// The file as a response body (ownership moves to it).
  std::shared_ptr<api::body_file> release() {
    flush();
    return std::make_shared<api::body_file>(file_->fd() >= 0 ? ::dup(file_->fd()) : -1);
  }

 private:
  static constexpr std::size_t buf_limit = 256 * 1024;
  explicit spill_file(int fd) : file_(std::make_unique<api::body_file>(fd)) {}
  void put(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(file_->fd(), bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("writing the export's temporary file failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  std::unique_ptr<api::body_file> file_;  // closes the descriptor
  std::string buf_;
};

api::response spill_failed() {
  return api::response::error(api::errc::internal, "cannot create the export's temporary file");
}

api::response export_answer(core::result<hashdb::export_receipt> r, spill_file& out,
                            std::string content_type, std::string filename, int retry_after_s) {
  if (!r) return api::response::error(r.error(), retry_after_s);
  std::shared_ptr<api::body_file> file;
  try {
    file = out.release();
  } catch (const std::exception&) {
    return spill_failed();
  }
  if (file->fd() < 0) return spill_failed();
  auto res = api::response::text(200, {}, std::move(content_type));
  res.file = std::move(file);
  res.headers.push_back({"Content-Disposition", "attachment; filename=\"" + filename + "\""});
  res.headers.push_back({"X-Export-SHA256", r->sha256});
  res.headers.push_back({"X-Export-Audit-Id", std::to_string(r->audit_id)});
  res.headers.push_back({"Cache-Control", "no-store"});
  return res;
}

// GET /v1/exports/cases and /v1/exports/events: one range export of `what`.
api::response range_export(const services& deps, hashdb::connection& c, const api::request& req,
                           const api::auth_context& who, std::string_view what) {
  auto range = range_of(req);
  if (!range) return malformed("from and to are required (YYYY-MM-DD), from before to");
  auto fmt = hashdb::parse_export_format(req.query_param("format").value_or("csv"));
  if (!fmt) return malformed("format must be csv or json");
  auto out = spill_file::open(deps.spill_dir);
  if (!out) return spill_failed();
  hashdb::export_sink sink = [&out](std::string_view chunk) { out->write(chunk); };
  hashdb::exporter ex(c);
  auto r = what == "cases" ? ex.cases(*range, *fmt, sink, who.key_id)
                           : ex.events(*range, *fmt, sink, who.key_id);
  const bool csv = *fmt == hashdb::export_format::csv;
  return export_answer(std::move(r), *out, csv ? "text/csv; charset=utf-8" : "application/json",
                       std::string(what) + (csv ? ".csv" : ".json"), deps.retry_after_s);
}

api::response get_cases_export(const services& deps, hashdb::connection& c, const api::request& req,
                               const api::auth_context& who) {
  return range_export(deps, c, req, who, "cases");
}

api::response get_events_export(const services& deps, hashdb::connection& c,
                                const api::request& req, const api::auth_context& who) {
  return range_export(deps, c, req, who, "events");
}

// The audit filters of GET /v1/audit and GET /v1/exports/audit: actor, action (a trailing '*'
// selects a prefix), case, from, to (from <= at < to). nullopt with `why` set when one is bad.
std::optional<hashdb::audit_filter> audit_filter_of(const api::request& req, std::string& why) {
  hashdb::audit_filter f;
  if (auto a = req.query_param("actor"); a && !a->empty()) f.actor = *a;
  if (auto a = req.query_param("action"); a && !a->empty()) f.action = *a;
  if (auto k = req.query_param("case"); k && !k->empty()) {
    auto id = core::parse_int<std::int64_t>(*k, 1);
    if (!id) {
      why = "case must be a case id";
      return std::nullopt;
    }
    f.case_id = *id;
  }
  auto from = api::time_query(req, "from");
  auto to = api::time_query(req, "to");
  if (!from || !to) {
    why = "from and to must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ";
    return std::nullopt;
  }
  f.from_us = *from;
  f.to_us = *to;
  if (f.from_us && f.to_us && *f.to_us <= *f.from_us) {
    why = "from must lie before to";
    return std::nullopt;
  }
  return f;
}

// GET /v1/audit
api::response get_audit(const services& deps, hashdb::connection& c, const api::request& req,
                        const api::auth_context&) {
  auto limit = api::int_query(req, "limit", 100, 1, 1000);
  if (!limit) return malformed("limit must be 1..1000");
  std::optional<std::int64_t> before;
  if (req.query_param("before")) {
    auto id = api::int_query(req, "before", 0, 1, INT64_MAX);
    if (!id) return malformed("before must be an audit id");
    before = *id;
  }
  std::string why;
  auto filter = audit_filter_of(req, why);
  if (!filter) return malformed(why);
  hashdb::audit_log audit(c);
  auto rows = audit.query(*filter, static_cast<std::size_t>(*limit), before);
  if (!rows) return api::response::error(rows.error(), deps.retry_after_s);
  json::array out;
  for (const auto& e : *rows) {
    out.push_back(json::object{{"id", e.id},
                               {"at", e.at},
                               {"actor", e.actor},
                               {"action", e.action},
                               {"subject", e.subject},
                               {"detail", e.detail},
                               {"row_hash", e.row_hash}});
  }
  // The next page: the oldest id of this one, when the page is full.
  json::value next = nullptr;
  if (rows->size() == static_cast<std::size_t>(*limit) && !rows->empty()) {
    next = rows->back().id;
  }
  return api::response::json(
      200, json::serialize(json::object{{"entries", std::move(out)}, {"next_before", next}}));
}

// GET /v1/exports/audit
api::response get_audit_export(const services& deps, hashdb::connection& c, const api::request& req,
                               const api::auth_context& who) {
  std::string why;
  auto filter = audit_filter_of(req, why);
  if (!filter) return malformed(why);
  auto fmt = hashdb::parse_export_format(req.query_param("format").value_or("csv"));
  if (!fmt) return malformed("format must be csv or json");
  auto out = spill_file::open(deps.spill_dir);
  if (!out) return spill_failed();
  hashdb::exporter ex(c);
  auto r = ex.audit(
      *filter, *fmt, [&out](std::string_view chunk) { out->write(chunk); }, who.key_id);
  const bool csv = *fmt == hashdb::export_format::csv;
  return export_answer(std::move(r), *out, csv ? "text/csv; charset=utf-8" : "application/json",
                       csv ? "audit.csv" : "audit.json", deps.retry_after_s);
}

// GET /v1/audit/verify
api::response get_audit_verify(const services& deps, hashdb::connection& c, const api::request&,
                               const api::auth_context&) {
  std::optional<hashdb::audit_head> published;
  if (!deps.audit_head_file.empty()) {
    // An unreadable or malformed head file is an error, never a silent "no head".
    auto head = hashdb::read_audit_head(deps.audit_head_file);
    if (!head) return api::response::error(hashdb::errc::io_error, deps.retry_after_s);
    published = *head;
  }
  hashdb::audit_log audit(c);
  auto v = audit.verify(published);
  if (!v) return api::response::error(v.error(), deps.retry_after_s);
  json::value published_json = nullptr;
  if (v->published) {
    published_json = json::object{
        {"id", v->published->id}, {"hash", v->published->hash}, {"at", v->published->at}};
  }
  return api::response::json(
      200, json::serialize(
               json::object{{"ok", v->ok},
                            {"rows", v->rows},
                            {"first_bad", v->first_bad ? json::value(*v->first_bad) : nullptr},
                            {"problem", v->problem},
                            {"head_id", v->head_id ? json::value(*v->head_id) : nullptr},
                            {"head_hash", v->head_hash},
                            {"legacy_rows", v->legacy_rows},
                            {"published_head", std::move(published_json)}}));
}

// GET /v1/exports/aggregate
api::response get_aggregate_export(const services& deps, hashdb::connection& c,
                                   const api::request& req, const api::auth_context& who) {
  auto range = range_of(req);
  if (!range) return malformed("from and to are required (YYYY-MM-DD), from before to");
  auto fmt = hashdb::parse_export_format(req.query_param("format").value_or("csv"));
  if (!fmt) return malformed("format must be csv or json");
  const std::string period = req.query_param("period").value_or("month");
  if (period != "day" && period != "week" && period != "month") {
    return malformed("period must be day, week or month");
  }
  auto out = spill_file::open(deps.spill_dir);
  if (!out) return spill_failed();
  hashdb::exporter ex(c);
  auto r = ex.aggregate(
      *range, period, *fmt, [&out](std::string_view chunk) { out->write(chunk); }, who.key_id);
  const bool csv = *fmt == hashdb::export_format::csv;
  return export_answer(std::move(r), *out, csv ? "text/csv; charset=utf-8" : "application/json",
                       csv ? "aggregate.csv" : "aggregate.json", deps.retry_after_s);
}

// GET /v1/exports/cases/{id}/cybertipline
api::response get_cybertipline_export(const services& deps, hashdb::connection& c,
                                      const api::request& req, const api::auth_context& who) {
  auto id = id_param(req);
  if (!id) return api::response::error(api::errc::not_found, "no such case");
  auto part = req.query_param("part");
  auto out = spill_file::open(deps.spill_dir);
  if (!out) return spill_failed();
  hashdb::exporter ex(c);
  auto r = ex.cybertipline(
      *id, deps.package, [&out](std::string_view chunk) { out->write(chunk); }, who.key_id, part);
  const std::string name = part ? *part : "case-" + std::to_string(*id) + "-cybertipline.tar";
  return export_answer(std::move(r), *out,
                       part ? "application/xml; charset=utf-8" : "application/x-tar", name,
                       deps.retry_after_s);
}

}  // namespace

handler_list compliance_handlers(const services& deps) {
  handler_list out;
  out.push_back({"GET", "/v1/audit", db_route(deps, get_audit)});
  out.push_back({"GET", "/v1/audit/verify", db_route(deps, get_audit_verify)});
  out.push_back({"GET", "/v1/exports/audit", db_route(deps, get_audit_export)});
  out.push_back({"GET", "/v1/exports/cases", db_route(deps, get_cases_export)});
  out.push_back({"GET", "/v1/exports/events", db_route(deps, get_events_export)});
  out.push_back({"GET", "/v1/exports/aggregate", db_route(deps, get_aggregate_export)});
  out.push_back(
      {"GET", "/v1/exports/cases/{id}/cybertipline", db_route(deps, get_cybertipline_export)});
  return out;
}

}  // namespace hashguard::handlers::detail
