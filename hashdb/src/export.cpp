// The exporter: pages through the case store, feeds the generators (export_writers.cpp),
// hashes the stream as it goes and writes the custody record.
#include "hashguard/hashdb/export.hpp"
#include "audit_internal.hpp"
#include "case_queries_internal.hpp"
#include "crypto.hpp"
#include "hashguard/core/hex.hpp"
#include "hashguard/hashdb/event.hpp"
#include "pg.hpp"

#include <openssl/evp.h>
#include <boost/json.hpp>

#include <ctime>
#include <memory>
#include <stdexcept>

namespace hashguard::hashdb {
namespace {

constexpr std::int64_t page_size = 200;

// Counts and hashes every byte on its way to the caller's sink.
class hashing_sink {
 public:
  explicit hashing_sink(const export_sink& out) : out_(out), ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      throw std::runtime_error("EVP_DigestInit_ex(sha256) failed");
    }
  }
  export_sink sink() {
    return [this](std::string_view chunk) {
      if (chunk.empty()) return;
      EVP_DigestUpdate(ctx_.get(), chunk.data(), chunk.size());
      bytes_ += chunk.size();
      try {
        out_(chunk);
      } catch (...) {
        // The caller's sink failed (a client gone): the export is incomplete, not recorded.
        throw abort_with{errc::io_error, "the export's sink failed"};
      }
    };
  }
  std::string hex() {
    detail::digest256 d{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), d.data(), &len);
    return core::to_hex(d);
  }
  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  struct ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  const export_sink& out_;
  std::unique_ptr<EVP_MD_CTX, ctx_free> ctx_;
  std::uint64_t bytes_{};
};

std::string iso_us(std::int64_t us) {
  const std::time_t s = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

export_receipt record_custody(pqxx::connection& pc, std::string_view actor, std::string what,
                              std::string subject, boost::json::object detail_json,
                              hashing_sink& hs, std::uint64_t items) {
  export_receipt receipt;
  receipt.what = std::move(what);
  receipt.items = items;
  receipt.bytes = hs.bytes();
  receipt.sha256 = hs.hex();
  detail_json["what"] = receipt.what;
  detail_json["items"] = items;
  detail_json["bytes"] = receipt.bytes;
  detail_json["sha256"] = receipt.sha256;
  pqxx::work tx(pc);
  receipt.audit_id =
      detail::audit_append(tx, actor, "export", subject, boost::json::serialize(detail_json));
  tx.commit();
  return receipt;
}

boost::json::object range_json(const export_range& r, export_format f) {
  return boost::json::object{
      {"format", to_string(f)}, {"from", iso_us(r.from_us)}, {"to", iso_us(r.to_us)}};
}

}  // namespace

core::result<export_receipt> exporter::cases(const export_range& r, export_format f,
                                             const export_sink& sink, std::string_view actor) {
  if (r.to_us < r.from_us) return errc::invalid_argument;
  return guarded(conn_, [&](pqxx::connection& pc) {
    hashing_sink hs(sink);
    cases_writer w(f, hs.sink());
    {
      // One snapshot for the whole export, paged by id so memory stays bounded.
      pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(pc);
      std::int64_t after = 0;
      for (;;) {
        const auto ids = tx.exec_params(
            "SELECT id FROM cases WHERE id > $1"
            " AND last_seen >= 'epoch'::timestamptz + $2 * interval '1 microsecond'"
            " AND last_seen < 'epoch'::timestamptz + $3 * interval '1 microsecond'"
            " ORDER BY id LIMIT $4",
            after, r.from_us, r.to_us, page_size);
        for (const auto& row : ids) {
          after = row[0].as<std::int64_t>();
          // No events: the cases export carries counts, files and entries, never sightings.
          w.add(detail::load_case(tx, after, {{0, {}}, false}));
        }
        if (ids.size() < static_cast<std::size_t>(page_size)) break;
      }
      w.finish();
      tx.commit();
    }
    return record_custody(pc, actor, "cases", "export:cases", range_json(r, f), hs, w.items());
  });
}

core::result<export_receipt> exporter::events(const export_range& r, export_format f,
                                              const export_sink& sink, std::string_view actor) {
  if (r.to_us < r.from_us) return errc::invalid_argument;
  return guarded(conn_, [&](pqxx::connection& pc) {
    hashing_sink hs(sink);
    events_writer w(f, hs.sink());
    {
      pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(pc);
      // Keyset paging on (occurred_at, id).
      std::optional<std::string> after_at;
      std::string after_id;
      for (;;) {
        const auto rows = tx.exec_params(
            "SELECT " + detail::event_select_columns() +
                ", e.occurred_at::text FROM events e"
                " WHERE e.occurred_at >= 'epoch'::timestamptz + $1 * interval '1 microsecond'"
                " AND e.occurred_at < 'epoch'::timestamptz + $2 * interval '1 microsecond'"
                " AND ($3::timestamptz IS NULL OR (e.occurred_at, e.id) > ($3, $4::uuid))"
                " ORDER BY e.occurred_at, e.id LIMIT $5",
            r.from_us, r.to_us, after_at,
            after_id.empty() ? std::string("00000000-0000-0000-0000-000000000000") : after_id,
            page_size);
        std::vector<event_record> page;
        for (const auto& row : rows) {
          page.push_back(detail::event_from_row(row));
          after_at = row[detail::event_column_count].as<std::string>();
          after_id = page.back().id;
        }
        detail::attach_hits(tx, page);
        for (const auto& e : page) w.add(e);
        if (rows.size() < static_cast<std::size_t>(page_size)) break;
      }
      w.finish();
      tx.commit();
    }
    return record_custody(pc, actor, "events", "export:events", range_json(r, f), hs, w.items());
  });
}

core::result<export_receipt> exporter::aggregate(const export_range& r, std::string_view period,
                                                 export_format f, const export_sink& sink,
                                                 std::string_view actor) {
  if (r.to_us < r.from_us || (period != "day" && period != "week" && period != "month")) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    hashing_sink hs(sink);
    aggregate_writer w(f, hs.sink());
    {
      pqxx::read_transaction tx(pc);
      // Three counts over the same (period, list) grid, each bucketed by its own time: the
      // event's occurrence, the submission, the decision.
      const auto rows = tx.exec_params(
          "WITH bounds AS (SELECT 'epoch'::timestamptz + $1 * interval '1 microsecond' AS lo,"
          "                       'epoch'::timestamptz + $2 * interval '1 microsecond' AS hi),"
          " m AS (SELECT date_trunc($3, e.occurred_at AT TIME ZONE 'UTC') AS p, h.list_id,"
          "              count(DISTINCT e.id) AS n"
          "         FROM events e JOIN event_hits h ON h.event_id = e.id, bounds b"
          "        WHERE e.occurred_at >= b.lo AND e.occurred_at < b.hi GROUP BY 1, 2),"
          " r AS (SELECT date_trunc($3, rp.submitted_at AT TIME ZONE 'UTC') AS p, ce.list_id,"
          "              count(DISTINCT rp.id) AS n"
          "         FROM reports rp JOIN case_entries ce ON ce.case_id = rp.case_id, bounds b"
          "        WHERE rp.submitted_at >= b.lo AND rp.submitted_at < b.hi GROUP BY 1, 2),"
          " d AS (SELECT date_trunc($3, dc.decided_at AT TIME ZONE 'UTC') AS p, ce.list_id,"
          "              count(DISTINCT dc.id) AS n"
          "         FROM decisions dc JOIN case_entries ce ON ce.case_id = dc.case_id, bounds b"
          "        WHERE dc.decision = 'false_positive'"
          "          AND dc.decided_at >= b.lo AND dc.decided_at < b.hi GROUP BY 1, 2),"
          " k AS (SELECT p, list_id FROM m UNION SELECT p, list_id FROM r"
          "       UNION SELECT p, list_id FROM d)"
          " SELECT to_char(k.p, 'YYYY-MM-DD'), k.list_id, coalesce(l.name, ''),"
          "        coalesce(m.n, 0), coalesce(r.n, 0), coalesce(d.n, 0)"
          "   FROM k LEFT JOIN m USING (p, list_id) LEFT JOIN r USING (p, list_id)"
          "   LEFT JOIN d USING (p, list_id) LEFT JOIN hash_lists l ON l.id = k.list_id"
          "  ORDER BY k.p, k.list_id",
          r.from_us, r.to_us, std::string(period));
      for (const auto& row : rows) {
        w.add({row[0].as<std::string>(), row[1].as<std::int64_t>(), row[2].as<std::string>(),
               row[3].as<std::int64_t>(), row[4].as<std::int64_t>(), row[5].as<std::int64_t>()});
      }
      w.finish();
      tx.commit();
    }
    auto detail_json = range_json(r, f);
    detail_json["period"] = period;
    return record_custody(pc, actor, "aggregate", "export:aggregate", std::move(detail_json), hs,
                          w.items());
  });
}

core::result<export_receipt> exporter::audit(const audit_filter& filter, export_format f,
                                             const export_sink& sink, std::string_view actor) {
  if (filter.from_us && filter.to_us && *filter.to_us < *filter.from_us) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    hashing_sink hs(sink);
    audit_writer w(f, hs.sink());
    const auto v = detail::audit_filter_params(filter);
    {
      pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(pc);
      std::int64_t after = 0;
      for (;;) {
        const auto rows = tx.exec_params(
            "SELECT a.id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
            " a.actor, a.action, a.subject, a.detail, encode(a.row_hash, 'hex')"
            " FROM audit_log a WHERE a.id > $1 AND " +
                detail::audit_filter_sql(3) + " ORDER BY a.id LIMIT $2",
            after, page_size, v.actor, v.action, v.prefix, v.subject, v.from_us, v.to_us);
        for (const auto& r : rows) {
          audit_entry e{r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                        r[3].as<std::string>(),  r[4].as<std::string>(), r[5].as<std::string>(),
                        r[6].as<std::string>()};
          after = e.id;
          w.add(e);
        }
        if (rows.size() < static_cast<std::size_t>(page_size)) break;
      }
      w.finish();
      tx.commit();
    }
    boost::json::object detail_json{{"format", to_string(f)}};
    if (filter.actor) detail_json["actor"] = *filter.actor;
    if (filter.action) detail_json["action"] = *filter.action;
    if (filter.case_id) detail_json["case"] = *filter.case_id;
    if (filter.from_us) detail_json["from"] = iso_us(*filter.from_us);
    if (filter.to_us) detail_json["to"] = iso_us(*filter.to_us);
    return record_custody(pc, actor, "audit", "export:audit", std::move(detail_json), hs,
                          w.items());
  });
}

core::result<export_receipt> exporter::cybertipline(std::int64_t case_id, const package_options& o,
                                                    const export_sink& sink, std::string_view actor,
                                                    std::optional<std::string> only) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    case_detail c;
    {
      // No events: the package is built from the files' aggregates (URLs, distinct hits).
      pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(pc);
      c = detail::load_case(tx, case_id, {{0, {}}, true, true});
      tx.commit();
    }
    auto docs = cybertipline_documents(c, o);
    hashing_sink hs(sink);
    std::uint64_t items = docs.size();
    if (only) {
      auto it = std::find_if(docs.begin(), docs.end(),
                             [&](const package_document& d) { return d.name == *only; });
      if (it == docs.end()) throw abort_with{errc::not_found, "no document " + *only};
      hs.sink()(it->content);
      items = 1;
    } else {
      write_tar_package(docs, now_us() / 1'000'000, hs.sink());
    }
    boost::json::object detail_json{{"format", only ? "xml" : "tar"}};
    if (only) detail_json["document"] = *only;
    return record_custody(pc, actor, "cybertipline", "case:" + std::to_string(case_id),
                          std::move(detail_json), hs, items);
  });
}

core::result<case_detail> exporter::package_case(std::int64_t case_id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(pc);
    case_detail c = detail::load_case(tx, case_id, {{0, {}}, true, true});
    tx.commit();
    return c;
  });
}

void declare_report_config(core::config& cfg) {
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
  cfg.declare("reporting.hash_sharing_signatory", config_type::boolean, "false",
              "the organisation signed the industry hash-sharing MOU: fileDetails carry the "
              "industryClassification (A1-B2)");
}

hashdb::package_options package_options_from(const core::config& cfg) {
  hashdb::package_options o;
  o.person.first_name = cfg.get_string("report.person.first_name");
  o.person.last_name = cfg.get_string("report.person.last_name");
  o.person.email = cfg.get_string("report.person.email");
  o.person.phone = cfg.get_string("report.person.phone");
  o.publicly_available = cfg.get_bool("report.publicly_available");
  o.hash_sharing_signatory = cfg.get_bool("reporting.hash_sharing_signatory");
  return o;
}

}  // namespace hashguard::hashdb
