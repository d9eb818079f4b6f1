#include "hashguard/api/review_handlers.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/case_queries.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace hashguard::api {
namespace {

namespace json = boost::json;
using core::role;

// Connections for the handlers: one per concurrent request, reused. Opening happens outside
// the lock; a broken connection reconnects itself on next use (hashdb::connection).
class connection_pool {
 public:
  connection_pool(std::string url, std::size_t max) : url_(std::move(url)), max_(max) {}

  struct lease {
    connection_pool* pool{nullptr};
    std::unique_ptr<hashdb::connection> conn;
    lease() = default;
    lease(connection_pool* p, std::unique_ptr<hashdb::connection> c)
        : pool(p), conn(std::move(c)) {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) noexcept = default;
    ~lease() {
      if (pool != nullptr && conn) pool->give_back(std::move(conn));
    }
  };

  core::result<lease> take() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return lease(this, std::move(c));
      }
    }
    auto c = hashdb::connection::open(url_);
    if (!c) return c.error();
    return lease(this, std::make_unique<hashdb::connection>(std::move(*c)));
  }

 private:
  void give_back(std::unique_ptr<hashdb::connection> c) {
    std::lock_guard lock(mu_);
    if (idle_.size() < max_) idle_.push_back(std::move(c));
  }
  std::string url_;
  std::size_t max_;
  std::mutex mu_;
  std::vector<std::unique_ptr<hashdb::connection>> idle_;
};

struct state {
  review_deps deps;
  connection_pool pool;
  explicit state(review_deps d)
      : deps(std::move(d)), pool(deps.database_url, std::max<std::size_t>(1, deps.connections)) {}
};

response db_error(const core::error_code& ec, std::string_view detail = {}) {
  const std::string name(core::error_name(ec));
  const std::string message = detail.empty() ? ec.message() : std::string(detail);
  if (name == "not_found") return response::error("not_found", message);
  if (name == "invalid_argument") return response::error("invalid_argument", message);
  if (name == "conflict" || name == "purge_refused") return response::error("conflict", message);
  if (name == "unavailable" || name == "commit_in_doubt") {
    return response::error("database_unavailable", message);
  }
  if (name == "integrity") {
    auto r = response::error(errc::internal, "preserved evidence failed its integrity check");
    r.body = error_json("integrity", "preserved evidence failed its integrity check");
    return r;
  }
  return response::error(errc::internal, message);
}

response bad(std::string_view message) {
  return response::error(errc::malformed, message);
}

response unprocessable(std::string_view message) {
  return response::error(errc::unprocessable, message);
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> microseconds since the epoch (UTC).
std::optional<std::int64_t> parse_time(std::string_view s) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  const std::string text(s);
  if (text.size() == 10) {
    if (std::sscanf(text.c_str(), "%4d-%2d-%2d", &y, &mo, &d) != 3) return std::nullopt;
  } else if (text.size() >= 20 && text.back() == 'Z') {
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000;
}

std::optional<std::int64_t> case_id_of(const request& req) {
  auto id = parse_int(req.param("id"));
  if (!id || *id <= 0) return std::nullopt;
  return id;
}

json::value opt(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object summary_json(const hashdb::case_summary& c) {
  return json::object{{"id", c.id},
                      {"zone", c.zone},
                      {"status", c.status},
                      {"opened_at", c.opened_at},
                      {"first_seen", c.first_seen},
                      {"last_seen", c.last_seen},
                      {"sightings", c.sightings},
                      {"files", c.files},
                      {"required_confirmations", c.required_confirmations},
                      {"classification", opt(c.classification)},
                      {"dismissed_at", opt(c.dismissed_at)},
                      {"reported_at", opt(c.reported_at)},
                      {"preserve_until", opt(c.preserve_until)},
                      {"legal_hold", c.legal_hold},
                      {"details_purged", c.details_purged}};
}

std::string reviewer_label(std::int64_t id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "k_";
  for (int shift = 44; shift >= 0; shift -= 4) {
    out += digits[(static_cast<std::uint64_t>(id) >> shift) & 15];
  }
  return out;
}

json::object detail_json(const hashdb::case_detail& d) {
  json::object o;
  o["case"] = summary_json(d.summary);
  o["confirmations"] = d.confirmations;
  json::array files;
  for (const auto& f : d.files) {
    json::array urls;
    for (const auto& u : f.urls) urls.emplace_back(u);
    files.push_back(json::object{{"content", f.content},
                                 {"md5", f.md5},
                                 {"sha1", f.sha1},
                                 {"sha256", f.sha256},
                                 {"pdq", f.pdq},
                                 {"phash", f.phash},
                                 {"first_seen", f.first_seen},
                                 {"last_seen", f.last_seen},
                                 {"sightings", f.sightings},
                                 {"urls", std::move(urls)},
                                 {"viewed_by_esp", f.viewed_by_esp},
                                 {"viewed_by", f.viewed_by},
                                 {"viewed_at", f.viewed_at},
                                 {"evidence_preserved", f.evidence_preserved}});
  }
  o["files"] = std::move(files);
  json::array events;
  for (const auto& e : d.events) {
    json::array hits;
    for (const auto& h : e.hits) {
      hits.push_back(json::object{{"list_id", h.list_id},
                                  {"list_name", h.list_name},
                                  {"entry_id", h.entry_id},
                                  {"external_id", h.external_id},
                                  {"signal", h.signal},
                                  {"distance", h.distance},
                                  {"threshold", h.threshold},
                                  {"list_version", h.list_version},
                                  {"action", h.action},
                                  {"variant", h.variant}});
    }
    events.push_back(json::object{
        {"id", e.id},
        {"occurred_at", e.occurred_at},
        {"zone", e.zone},
        {"source_url", e.source_url},
        {"request_id", e.request_id},
        {"node", e.node},
        {"sha256", e.sha256},
        {"md5", e.md5},
        {"sha1", e.sha1},
        {"pdq", e.pdq},
        {"pdq_quality", e.pdq_quality ? json::value(*e.pdq_quality) : json::value(nullptr)},
        {"phash", e.phash},
        {"action", e.action},
        {"hits", std::move(hits)}});
  }
  o["events"] = std::move(events);
  json::array decisions;
  for (const auto& x : d.decisions) {
    decisions.push_back(json::object{{"id", x.id},
                                     {"reviewer", reviewer_label(x.reviewer_key_id)},
                                     {"decision", x.decision},
                                     {"classification", opt(x.classification)},
                                     {"note", x.note},
                                     {"decided_at", x.decided_at}});
  }
  o["decisions"] = std::move(decisions);
  json::array reports;
  for (const auto& r : d.reports) {
    json::array ids;
    for (const auto& f : r.file_ids) ids.emplace_back(f);
    reports.push_back(json::object{{"report_id", r.report_id},
                                   {"file_ids", std::move(ids)},
                                   {"submitted_at", r.submitted_at},
                                   {"finished_at", opt(r.finished_at)},
                                   {"environment", r.environment},
                                   {"recorded_at", r.recorded_at}});
  }
  o["reports"] = std::move(reports);
  return o;
}

template <class F>
void add_db_route(route_table& table, std::string method, std::string pattern, role r,
                  body_class body, std::string summary, std::shared_ptr<state> st, F f) {
  table.add(
      route_spec{std::move(method), std::move(pattern), r, run_on::db, body, std::move(summary)},
      sync_handler([st, f](const request& req, const auth_context& who) -> response {
        auto lease = st->pool.take();
        if (!lease) return db_error(lease.error());
        return f(*st, *lease->conn, req, who);
      }));
}

std::optional<json::object> body_object(const request& req) {
  if (auto ct = req.header("Content-Type"); !ct || ct->find("application/json") != 0) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto v = json::parse(req.body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.as_object();
}

std::optional<std::string> string_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().as_string());
}

// from/to of an export: both required, from < to.
std::optional<hashdb::export_range> range_of(const request& req) {
  auto from = req.query_param("from");
  auto to = req.query_param("to");
  if (!from || !to) return std::nullopt;
  auto f = parse_time(*from);
  auto t = parse_time(*to);
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
  std::shared_ptr<body_file> release() {
    flush();
    return std::make_shared<body_file>(file_->fd() >= 0 ? ::dup(file_->fd()) : -1);
  }

 private:
  static constexpr std::size_t buf_limit = 256 * 1024;
  explicit spill_file(int fd) : file_(std::make_unique<body_file>(fd)) {}
  void put(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(file_->fd(), bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("writing the export's temporary file failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  std::unique_ptr<body_file> file_;  // closes the descriptor
  std::string buf_;
};

response spill_failed() {
  return response::error(errc::internal, "cannot create the export's temporary file");
}

response export_answer(core::result<hashdb::export_receipt> r, spill_file& out,
                       std::string content_type, std::string filename) {
  if (!r) return db_error(r.error());
  std::shared_ptr<body_file> file;
  try {
    file = out.release();
  } catch (const std::exception&) {
    return spill_failed();
  }
  if (file->fd() < 0) return spill_failed();
  auto res = response::text(200, {}, std::move(content_type));
  res.file = std::move(file);
  res.headers.push_back({"Content-Disposition", "attachment; filename=\"" + filename + "\""});
  res.headers.push_back({"X-Export-SHA256", r->sha256});
  res.headers.push_back({"X-Export-Audit-Id", std::to_string(r->audit_id)});
  res.headers.push_back({"Cache-Control", "no-store"});
  return res;
}

}  // namespace

void declare_review_config(core::config& cfg) {
  using core::config_type;
  cfg.declare("report.person.first_name", config_type::string, "Trust",
              "report.xml reportingPerson firstName");
  cfg.declare("report.person.last_name", config_type::string, "Safety",
              "report.xml reportingPerson lastName");
  cfg.declare("report.person.email", config_type::string, "",
              "report.xml reportingPerson email (left out when empty)");
  cfg.declare("report.person.phone", config_type::string, "",
              "report.xml reportingPerson phone (left out when empty)");
  cfg.declare("report.publicly_available", config_type::boolean, "true",
              "fileDetails publiclyAvailable: content was served from public URLs");
}

hashdb::package_options package_options_from(const core::config& cfg) {
  hashdb::package_options o;
  o.person.first_name = cfg.get_string("report.person.first_name");
  o.person.last_name = cfg.get_string("report.person.last_name");
  o.person.email = cfg.get_string("report.person.email");
  o.person.phone = cfg.get_string("report.person.phone");
  o.publicly_available = cfg.get_bool("report.publicly_available");
  return o;
}

std::int64_t reviewer_id_of(std::string_view key_id) noexcept {
  // "k_" + 12 hex digits (api::key_id_of): those 48 bits. Other ids (the bootstrap key, test
  // keys): FNV-1a folded to 47 bits, kept apart from the hex ids by the top bit.
  if (key_id.size() == 14 && key_id.starts_with("k_")) {
    std::int64_t v = 0;
    bool ok = true;
    for (char ch : key_id.substr(2)) {
      int d = (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
      if (d < 0) ok = false;
      v = v * 16 + (d < 0 ? 0 : d);
    }
    if (ok) return v;
  }
  std::uint64_t h = 1469598103934665603ULL;
  for (char ch : key_id) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ULL;
  }
  return static_cast<std::int64_t>((h & 0x7FFFFFFFFFFFULL) | 0x800000000000ULL);
}

void add_review_routes(route_table& table, review_deps deps) {
  auto st = std::make_shared<state>(std::move(deps));

  add_db_route(
      table, "GET", "/v1/cases", role::reviewer, body_class::none,
      "the review queue, with filters and paging", st,
      [](state&, hashdb::connection& c, const request& req, const auth_context&) -> response {
        hashdb::queue_filter f;
        if (auto s = req.query_param("status"); s && !s->empty()) f.status = *s;
        if (auto z = req.query_param("zone"); z && !z->empty()) f.zone = *z;
        if (auto l = req.query_param("list"); l && !l->empty()) {
          f.list_id = parse_int(*l);
          if (!f.list_id) return bad("list must be a list id");
        }
        if (auto v = req.query_param("from"); v && !v->empty()) {
          f.from_us = parse_time(*v);
          if (!f.from_us) return bad("from must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
        }
        if (auto v = req.query_param("to"); v && !v->empty()) {
          f.to_us = parse_time(*v);
          if (!f.to_us) return bad("to must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
        }
        if (auto v = req.query_param("limit")) {
          auto n = parse_int(*v);
          if (!n || *n < 1 || *n > 500) return bad("limit must be 1..500");
          f.limit = static_cast<std::size_t>(*n);
        }
        if (auto v = req.query_param("offset")) {
          auto n = parse_int(*v);
          if (!n || *n < 0) return bad("offset must be >= 0");
          f.offset = static_cast<std::size_t>(*n);
        }
        hashdb::review_store review(c);
        auto page = review.queue(f);
        if (!page) return db_error(page.error(), "bad filter");
        json::array cases;
        for (const auto& s : page->cases) cases.push_back(summary_json(s));
        json::object counts;
        for (const auto& [k, v] : page->by_status) counts[k] = v;
        return response::json(200, json::serialize(json::object{{"cases", std::move(cases)},
                                                                {"total", page->total},
                                                                {"by_status", std::move(counts)},
                                                                {"limit", f.limit},
                                                                {"offset", f.offset}}));
      });

  add_db_route(
      table, "GET", "/v1/cases/{id}", role::reviewer, body_class::none, "one case", st,
      [](state&, hashdb::connection& c, const request& req, const auth_context& who) -> response {
        auto id = case_id_of(req);
        if (!id) return response::error(errc::not_found, "no such case");
        hashdb::review_store review(c);
        auto d = review.detail(*id);
        if (!d) return db_error(d.error());
        // Every read of a case is an audit entry (DESIGN.md section 3).
        hashdb::audit_log audit(c);
        if (auto a = audit.append(who.key_id, "case.view", "case:" + std::to_string(*id), "{}");
            !a) {
          return db_error(a.error());
        }
        return response::json(200, json::serialize(detail_json(*d)));
      });

  add_db_route(
      table, "POST", "/v1/cases/{id}/decision", role::reviewer, body_class::json,
      "decide a case: confirmed, false_positive, escalated", st,
      [](state& s, hashdb::connection& c, const request& req, const auth_context& who) -> response {
        auto id = case_id_of(req);
        if (!id) return response::error(errc::not_found, "no such case");
        auto body = body_object(req);
        if (!body) return bad("expected a JSON object (Content-Type: application/json)");
        auto decision = string_field(*body, "decision");
        auto kind = decision ? hashdb::parse_decision(*decision) : std::nullopt;
        if (!kind) return unprocessable("decision must be confirmed, false_positive or escalated");
        auto note = string_field(*body, "note");
        if (!note || note->find_first_not_of(" \t\r\n") == std::string::npos) {
          return unprocessable("a note is required");
        }
        hashdb::decision_input in;
        in.case_id = *id;
        in.reviewer_key_id = reviewer_id_of(who.key_id);
        in.kind = *kind;
        in.note = *note;
        in.classification = string_field(*body, "classification");
        if (in.classification && in.classification->empty()) in.classification.reset();
        if (in.kind == hashdb::decision_kind::confirmed && !in.classification) {
          return unprocessable("confirming needs a classification: A1, A2, B1 or B2");
        }
        if (auto it = body->find("suppress"); it != body->end() && it->value().is_bool()) {
          in.suppress = it->value().as_bool();
        }
        hashdb::case_options opts;
        opts.required_confirmations = s.deps.required_confirmations;
        hashdb::case_store store(c, opts);
        auto r = store.decide(in, who.key_id);
        if (!r) return db_error(r.error(), c.last_error());
        return response::json(
            200, json::serialize(json::object{{"decision_id", r->decision_id},
                                              {"status", r->status},
                                              {"confirmations", r->confirmations},
                                              {"reviewer", reviewer_label(in.reviewer_key_id)}}));
      });

  add_db_route(
      table, "POST", "/v1/cases/{id}/files/{content}/reveal", role::reviewer, body_class::json,
      "reveal preserved evidence (audited; marks the file viewed)", st,
      [](state& s, hashdb::connection& c, const request& req, const auth_context& who) -> response {
        auto id = case_id_of(req);
        if (!id) return response::error(errc::not_found, "no such case");
        if (!s.deps.evidence) {
          return response::error(errc::not_found, "evidence preservation is off");
        }
        std::string purpose = "review";
        if (auto body = body_object(req)) {
          if (auto p = string_field(*body, "purpose"); p && !p->empty()) purpose = *p;
        }
        hashdb::evidence_store store(c, *s.deps.evidence);
        auto r = store.reveal(*id, req.param("content"), who.key_id, purpose);
        if (!r) return db_error(r.error());
        // Only image types are sent as such; anything else is opaque bytes.
        const bool image = r->media_type.starts_with("image/") &&
                           r->media_type.find_first_of(";, ") == std::string::npos &&
                           r->media_type != "image/svg+xml";
        auto res = response::text(200, std::move(r->bytes),
                                  image ? r->media_type : "application/octet-stream");
        res.headers.push_back({"Cache-Control", "no-store"});
        res.headers.push_back({"X-Content-Type-Options", "nosniff"});
        res.headers.push_back({"Content-Security-Policy", "default-src 'none'"});
        res.headers.push_back({"X-Evidence-SHA256", r->sha256});
        return res;
      });

  add_db_route(
      table, "POST", "/v1/cases/{id}/report", role::compliance, body_class::json,
      "record a CyberTipline submission (starts the preservation clock)", st,
      [](state&, hashdb::connection& c, const request& req, const auth_context& who) -> response {
        auto id = case_id_of(req);
        if (!id) return response::error(errc::not_found, "no such case");
        auto body = body_object(req);
        if (!body) return bad("expected a JSON object (Content-Type: application/json)");
        hashdb::report_input in;
        in.case_id = *id;
        auto report_id = string_field(*body, "report_id");
        if (!report_id || report_id->empty()) return unprocessable("report_id is required");
        in.report_id = *report_id;
        if (auto it = body->find("file_ids"); it != body->end()) {
          if (!it->value().is_array()) return unprocessable("file_ids must be an array");
          for (const auto& v : it->value().as_array()) {
            if (!v.is_string() || v.as_string().empty() ||
                std::string_view(v.as_string()).find(',') != std::string_view::npos) {
              return unprocessable("file_ids must be non-empty strings without commas");
            }
            in.file_ids.emplace_back(v.as_string());
          }
        }
        if (auto t = string_field(*body, "submitted_at")) {
          auto us = parse_time(*t);
          if (!us) return unprocessable("submitted_at must be YYYY-MM-DDTHH:MM:SSZ");
          in.submitted_us = *us;
        }
        if (auto t = string_field(*body, "finished_at")) {
          auto us = parse_time(*t);
          if (!us) return unprocessable("finished_at must be YYYY-MM-DDTHH:MM:SSZ");
          in.finished_us = *us;
        }
        if (auto e = string_field(*body, "environment")) {
          if (*e != "production" && *e != "test") {
            return unprocessable("environment must be production or test");
          }
          in.environment = *e;
        }
        if (auto it = body->find("responses"); it != body->end()) {
          in.responses = it->value().is_string() ? std::string(it->value().as_string())
                                                 : json::serialize(it->value());
        }
        hashdb::case_store store(c, {});
        auto r = store.record_report(in, who.key_id);
        if (!r) return db_error(r.error(), c.last_error());
        hashdb::review_store review(c);
        auto d = review.detail(*id);
        if (!d) return db_error(d.error());
        return response::json(
            201, json::serialize(json::object{{"id", *r}, {"case", summary_json(d->summary)}}));
      });

  add_db_route(
      table, "GET", "/v1/audit", role::compliance, body_class::none, "the audit trail", st,
      [](state&, hashdb::connection& c, const request& req, const auth_context&) -> response {
        std::size_t limit = 100;
        std::optional<std::int64_t> before;
        if (auto v = req.query_param("limit")) {
          auto n = parse_int(*v);
          if (!n || *n < 1 || *n > 1000) return bad("limit must be 1..1000");
          limit = static_cast<std::size_t>(*n);
        }
        if (auto v = req.query_param("before")) {
          before = parse_int(*v);
          if (!before) return bad("before must be an audit id");
        }
        hashdb::audit_log audit(c);
        auto rows = audit.recent(limit, before);
        if (!rows) return db_error(rows.error());
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
        return response::json(200, json::serialize(json::object{{"entries", std::move(out)}}));
      });

  add_db_route(table, "GET", "/v1/audit/verify", role::compliance, body_class::none,
               "check the audit log's hash chain", st,
               [](state&, hashdb::connection& c, const request&, const auth_context&) -> response {
                 hashdb::audit_log audit(c);
                 auto v = audit.verify();
                 if (!v) return db_error(v.error());
                 return response::json(
                     200, json::serialize(json::object{
                              {"ok", v->ok},
                              {"rows", v->rows},
                              {"first_bad", v->first_bad ? json::value(*v->first_bad) : nullptr},
                              {"problem", v->problem},
                              {"head_id", v->head_id ? json::value(*v->head_id) : nullptr},
                              {"head_hash", v->head_hash}}));
               });

  for (const std::string what : {"cases", "events"}) {
    add_db_route(table, "GET", "/v1/exports/" + what, role::compliance, body_class::none,
                 what + " for a date range as CSV or JSON", st,
                 [what](state& s, hashdb::connection& c, const request& req,
                        const auth_context& who) -> response {
                   auto range = range_of(req);
                   if (!range) return bad("from and to are required (YYYY-MM-DD), from before to");
                   auto fmt =
                       hashdb::parse_export_format(req.query_param("format").value_or("csv"));
                   if (!fmt) return bad("format must be csv or json");
                   auto out = spill_file::open(s.deps.spill_dir);
                   if (!out) return spill_failed();
                   hashdb::export_sink sink = [&out](std::string_view chunk) { out->write(chunk); };
                   hashdb::exporter ex(c);
                   auto r = what == "cases" ? ex.cases(*range, *fmt, sink, who.key_id)
                                            : ex.events(*range, *fmt, sink, who.key_id);
                   const bool csv = *fmt == hashdb::export_format::csv;
                   return export_answer(std::move(r), *out,
                                        csv ? "text/csv; charset=utf-8" : "application/json",
                                        what + (csv ? ".csv" : ".json"));
                 });
  }

  add_db_route(
      table, "GET", "/v1/exports/aggregate", role::compliance, body_class::none,
      "counts per period and list", st,
      [](state& s, hashdb::connection& c, const request& req, const auth_context& who) -> response {
        auto range = range_of(req);
        if (!range) return bad("from and to are required (YYYY-MM-DD), from before to");
        auto fmt = hashdb::parse_export_format(req.query_param("format").value_or("csv"));
        if (!fmt) return bad("format must be csv or json");
        const std::string period = req.query_param("period").value_or("month");
        if (period != "day" && period != "week" && period != "month") {
          return bad("period must be day, week or month");
        }
        auto out = spill_file::open(s.deps.spill_dir);
        if (!out) return spill_failed();
        hashdb::exporter ex(c);
        auto r = ex.aggregate(
            *range, period, *fmt, [&out](std::string_view chunk) { out->write(chunk); },
            who.key_id);
        const bool csv = *fmt == hashdb::export_format::csv;
        return export_answer(std::move(r), *out,
                             csv ? "text/csv; charset=utf-8" : "application/json",
                             csv ? "aggregate.csv" : "aggregate.json");
      });

  add_db_route(
      table, "GET", "/v1/exports/cases/{id}/cybertipline", role::compliance, body_class::none,
      "a CyberTipline-style package for one case", st,
      [](state& s, hashdb::connection& c, const request& req, const auth_context& who) -> response {
        auto id = case_id_of(req);
        if (!id) return response::error(errc::not_found, "no such case");
        auto part = req.query_param("part");
        auto out = spill_file::open(s.deps.spill_dir);
        if (!out) return spill_failed();
        hashdb::exporter ex(c);
        auto r = ex.cybertipline(
            *id, s.deps.package, [&out](std::string_view chunk) { out->write(chunk); }, who.key_id,
            part);
        const std::string name = part ? *part : "case-" + std::to_string(*id) + "-cybertipline.tar";
        return export_answer(std::move(r), *out,
                             part ? "application/xml; charset=utf-8" : "application/x-tar", name);
      });
}

}  // namespace hashguard::api
