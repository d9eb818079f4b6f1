#include "hashguard/hashdb/lists.hpp"

#include "audit_internal.hpp"
#include "lists_internal.hpp"
#include "pg.hpp"

#include "hashguard/core/parse.hpp"

#include <boost/json.hpp>

#include <istream>
#include <ostream>
#include <regex>
#include <tuple>

namespace hashguard::hashdb {
namespace {

constexpr const char* list_columns =
    "id, name, source, signal, threshold, action, dihedral, enabled, retired_at IS NOT NULL,"
    " version, entries,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " review_threshold, auto_quarantine, video_query_percent, video_compared_percent";

}  // namespace

hash_list row_to_list(const pqxx::row& r) {
  hash_list l;
  l.id = r[0].as<std::int64_t>();
  l.name = r[1].as<std::string>();
  l.source = r[2].as<std::string>();
  l.sig = core::parse_signal(r[3].as<std::string>()).value_or(core::signal::pdq);
  l.threshold = r[4].as<int>();
  l.act = core::parse_action(r[5].as<std::string>()).value_or(core::action::review);
  l.dihedral = r[6].as<bool>();
  l.enabled = r[7].as<bool>();
  l.retired = r[8].as<bool>();
  l.version = r[9].as<std::int64_t>();
  l.entries = r[10].as<std::int64_t>();
  l.created_at = r[11].as<std::string>();
  l.updated_at = r[12].as<std::string>();
  if (!r[13].is_null()) l.review_threshold = r[13].as<int>();
  l.auto_quarantine = r[14].as<bool>();
  l.video_query_percent = r[15].as<double>();
  l.video_compared_percent = r[16].as<double>();
  return l;
}

namespace {

bool valid_name(std::string_view name) {
  static const std::regex pattern("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  return std::regex_match(name.begin(), name.end(), pattern);
}

bool valid_threshold(core::signal sig, int threshold) {
  return threshold >= 0 && threshold <= core::max_threshold(sig);
}

}  // namespace

bool valid_video_percents(double query_percent, double compared_percent) {
  return query_percent > 0 && query_percent <= 100 && compared_percent >= 0 &&
         compared_percent <= 100;
}

bool valid_review_threshold(core::signal sig, int threshold, int review_threshold) {
  return core::is_perceptual(sig) && review_threshold > threshold &&
         review_threshold <= core::max_threshold(sig);
}

void prepare_all(detail::connection_impl& c) {
  const std::string cols = list_columns;
  c.prepare("lists_insert",
            ("INSERT INTO hash_lists (name, source, signal, threshold, action, dihedral, enabled,"
             " review_threshold, auto_quarantine, video_query_percent, video_compared_percent)"
             " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING " +
             cols)
                .c_str());
  c.prepare("lists_all", ("SELECT " + cols + " FROM hash_lists ORDER BY id").c_str());
  c.prepare("lists_by_name", ("SELECT " + cols + " FROM hash_lists WHERE name = $1").c_str());
  c.prepare("lists_by_name_lock",
            ("SELECT " + cols + " FROM hash_lists WHERE name = $1 FOR UPDATE").c_str());
  c.prepare("lists_by_id", ("SELECT " + cols + " FROM hash_lists WHERE id = $1").c_str());
  c.prepare("lists_update",
            ("UPDATE hash_lists SET enabled = $2, threshold = $3, action = $4, dihedral = $5,"
             " source = $6, review_threshold = $7, auto_quarantine = $8, version = "
             "nextval('list_version_seq'), updated_at = now()"
             " WHERE id = $1 RETURNING " +
             cols)
                .c_str());
  c.prepare("lists_retire", ("UPDATE hash_lists SET enabled = false, retired_at = now(),"
                             " version = nextval('list_version_seq'), updated_at = now()"
                             " WHERE id = $1 RETURNING " +
                             cols)
                                .c_str());
  c.prepare("lists_bump",
            ("UPDATE hash_lists SET entries = entries + $2, version = nextval('list_version_seq'),"
             " updated_at = now() WHERE id = $1 RETURNING " +
             cols)
                .c_str());
  c.prepare("lists_catalog_version", "SELECT coalesce(max(version), 0) FROM hash_lists");
}

namespace {

// Lines of a stream whose first bytes were already read into `head` (for detection).
class line_reader {
 public:
  line_reader(std::string head, std::istream& in) : head_(std::move(head)), in_(in) {}
  bool next(std::string& line) {
    if (pos_ < head_.size()) {
      const auto nl = head_.find('\n', pos_);
      if (nl != std::string::npos) {
        line.assign(head_, pos_, nl - pos_);
        bytes_ += nl - pos_ + 1;
        pos_ = nl + 1;
        return true;
      }
      // The head ends mid-line: finish the line from the stream.
      line.assign(head_, pos_, std::string::npos);
      pos_ = head_.size();
      std::string rest;
      if (std::getline(in_, rest)) line += rest;
      bytes_ += line.size() + 1;
      return true;
    }
    if (!std::getline(in_, line)) return false;
    bytes_ += line.size() + 1;
    return true;
  }
  [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

 private:
  std::string head_;
  std::size_t pos_{0};
  std::istream& in_;
  std::uint64_t bytes_{0};
};

// Undoes COPY text-format escaping of one field.
std::string copy_unescape(std::string_view f) {
  std::string out;
  out.reserve(f.size());
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '\\' || i + 1 == f.size()) {
      out.push_back(f[i]);
      continue;
    }
    const char n = f[++i];
    switch (n) {
      case 't': out.push_back('\t'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'v': out.push_back('\v'); break;
      default: out.push_back(n); break;
    }
  }
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto tab = line.find('\t', start);
    out.push_back(copy_unescape(std::string_view(line).substr(start, tab - start)));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return out;
}

// The hashguard header's metadata from the start of a file (signal taken from the file).
std::optional<list_metadata> header_metadata(std::string_view head) {
  core::signal sig = core::signal::pdq;
  const auto at = head.find("\n# signal:");
  if (at != std::string_view::npos) {
    auto value = head.substr(at + 10, head.find('\n', at + 1) - at - 10);
    while (!value.empty() && (value.front() == ' ')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.remove_suffix(1);
    if (auto s = core::parse_signal(value)) sig = *s;
  }
  list_parser parser(list_format::hashguard, sig);
  std::size_t pos = 0;
  while (pos < head.size()) {
    const auto nl = head.find('\n', pos);
    if (nl == std::string_view::npos) break;
    const std::string_view line = head.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.front() != '#') break;
    if (parser.parse_line(line).kind == line_kind::rejected) return std::nullopt;
  }
  return parser.metadata();
}

}  // namespace

core::result<hash_list> list_store::create(const list_spec& spec) {
  if (!valid_name(spec.name) || !valid_threshold(spec.sig, spec.threshold) || spec.source.empty() ||
      spec.source.size() > 64) {
    return errc::invalid_argument;
  }
  if (spec.review_threshold &&
      !valid_review_threshold(spec.sig, spec.threshold, *spec.review_threshold)) {
    return errc::invalid_argument;
  }
  if (!valid_video_percents(spec.video_query_percent, spec.video_compared_percent)) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    auto row = tx.exec_prepared1("lists_insert", spec.name, spec.source,
                                 std::string(core::to_string(spec.sig)), spec.threshold,
                                 std::string(core::to_string(spec.act)), spec.dihedral,
                                 spec.enabled, spec.review_threshold, spec.auto_quarantine,
                                 spec.video_query_percent, spec.video_compared_percent);
    tx.commit();
    return row_to_list(row);
  });
}

core::result<std::vector<hash_list>> list_store::list(bool include_retired) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    std::vector<hash_list> out;
    for (const auto& row : tx.exec_prepared("lists_all")) {
      hash_list l = row_to_list(row);
      if (include_retired || !l.retired) out.push_back(std::move(l));
    }
    return out;
  });
}

core::result<hash_list> list_store::get(std::string_view name) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    auto r = tx.exec_prepared("lists_by_name", std::string(name));
    if (r.empty()) throw abort_with{errc::not_found, "no list named " + std::string(name)};
    return row_to_list(r[0]);
  });
}

core::result<hash_list> list_store::get(std::int64_t id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    auto r = tx.exec_prepared("lists_by_id", id);
    if (r.empty()) throw abort_with{errc::not_found, "no list with id " + std::to_string(id)};
    return row_to_list(r[0]);
  });
}

core::result<hash_list> list_store::update(std::string_view name, const list_changes& changes) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    auto r = tx.exec_prepared("lists_by_name_lock", std::string(name));
    if (r.empty()) throw abort_with{errc::not_found, "no list named " + std::string(name)};
    const hash_list cur = row_to_list(r[0]);
    if (cur.retired) throw abort_with{errc::conflict, "list " + cur.name + " is retired"};
    const int threshold = changes.threshold.value_or(cur.threshold);
    const std::string source = changes.source.value_or(cur.source);
    if (!valid_threshold(cur.sig, threshold) || source.empty() || source.size() > 64) {
      throw abort_with{errc::invalid_argument, "threshold or source out of range"};
    }
    const std::optional<int> band =
        changes.set_review_threshold ? changes.review_threshold : cur.review_threshold;
    if (band && !valid_review_threshold(cur.sig, threshold, *band)) {
      throw abort_with{errc::invalid_argument, "review_threshold must be above the threshold (" +
                                                   std::to_string(threshold) + ") and at most " +
                                                   std::to_string(core::max_threshold(cur.sig))};
    }
    auto row =
        tx.exec_prepared1("lists_update", cur.id, changes.enabled.value_or(cur.enabled), threshold,
                          std::string(core::to_string(changes.act.value_or(cur.act))),
                          changes.dihedral.value_or(cur.dihedral), source, band,
                          changes.auto_quarantine.value_or(cur.auto_quarantine));
    tx.commit();
    return row_to_list(row);
  });
}

core::result<hash_list> list_store::retire(std::string_view name) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    auto r = tx.exec_prepared("lists_by_name_lock", std::string(name));
    if (r.empty()) throw abort_with{errc::not_found, "no list named " + std::string(name)};
    hash_list cur = row_to_list(r[0]);
    if (cur.retired) return cur;
    auto row = tx.exec_prepared1("lists_retire", cur.id);
    tx.commit();
    return row_to_list(row);
  });
}

core::result<disabled_entry> list_store::disable_entry(std::int64_t list_id, std::int64_t entry_id,
                                                       std::string_view reason,
                                                       std::string_view actor) {
  if (!detail::valid_audit_reason(reason)) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    // The list's row first, as an import locks it: an import and a disable never interleave.
    const auto list =
        tx.exec_params("SELECT version FROM hash_lists WHERE id = $1 FOR UPDATE", list_id);
    if (list.empty()) throw abort_with{errc::not_found, "no list " + std::to_string(list_id)};
    const auto entry = tx.exec_params(
        "SELECT encode(value, 'hex'), coalesce(external_id, ''), retired_at IS NOT NULL"
        " FROM hashes WHERE id = $1 AND list_id = $2 FOR UPDATE",
        entry_id, list_id);
    if (entry.empty()) throw abort_with{errc::not_found, "no such entry in this list"};
    disabled_entry out;
    out.list_id = list_id;
    out.entry_id = entry_id;
    out.value = entry[0][0].as<std::string>();
    out.external_id = entry[0][1].as<std::string>();
    out.version = list[0][0].as<std::int64_t>();
    if (entry[0][2].as<bool>()) return out;
    tx.exec_params0("UPDATE hashes SET retired_at = now() WHERE id = $1", entry_id);
    out.version = tx.exec_params1(
                        "UPDATE hash_lists SET entries = greatest(entries - 1, 0),"
                        " version = nextval('list_version_seq'), updated_at = now()"
                        " WHERE id = $1 RETURNING version",
                        list_id)[0]
                      .as<std::int64_t>();
    out.changed = true;
    boost::json::object detail{{"entry_id", entry_id},
                               {"value", out.value},
                               {"external_id", out.external_id},
                               {"reason", reason},
                               {"version", out.version}};
    detail::audit_append(tx, actor, "list.entry_disable", "list:" + std::to_string(list_id),
                         boost::json::serialize(detail));
    tx.commit();
    return out;
  });
}

core::result<std::int64_t> list_store::catalog_version() {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    return tx.exec_prepared1("lists_catalog_version")[0].as<std::int64_t>();
  });
}

core::result<import_report> list_store::import(std::string_view name, std::istream& in,
                                               const import_options& options) {
  // A video list reads the vPDQ video file instead (vpdq_lists.cpp).
  if (auto found = get(name); found && found->sig == core::signal::vpdq) {
    return import_vpdq(*found, in, options);
  }
  // The first 64 KiB decide the format (and hold a hashguard header).
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return errc::io_error;
  if (!in.eof()) in.clear();

  import_report report;
  if (options.format) {
    report.format = *options.format;
  } else if (auto detected = detect_list_format(head)) {
    report.format = *detected;
  } else {
    return errc::unknown_format;
  }
  if (report.format == list_format::hashguard) {
    report.metadata = header_metadata(head);
  }

  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    auto found = tx.exec_prepared("lists_by_name_lock", std::string(name));
    hash_list target;
    if (found.empty()) {
      if (!report.metadata) {
        throw abort_with{errc::not_found, "no list named " + std::string(name)};
      }
      const list_metadata& m = *report.metadata;
      // A vpdq list's entries are videos (import_vpdq): never created from a hash-list header.
      if (!valid_name(name) || !valid_threshold(m.sig, m.threshold) ||
          m.sig == core::signal::vpdq) {
        throw abort_with{errc::invalid_argument, "bad list metadata"};
      }
      target = row_to_list(tx.exec_prepared1(
          "lists_insert", std::string(name), m.source.empty() ? "internal" : m.source,
          std::string(core::to_string(m.sig)), m.threshold, std::string(core::to_string(m.act)),
          m.dihedral, true,
          m.review_threshold && valid_review_threshold(m.sig, m.threshold, *m.review_threshold)
              ? m.review_threshold
              : std::nullopt,
          false, 80.0, 0.0));
    } else {
      target = row_to_list(found[0]);
    }
    if (target.retired) throw abort_with{errc::conflict, "list " + target.name + " is retired"};

    // Sorts of a million staged rows fit in memory instead of spilling to disk.
    tx.exec0("SET LOCAL work_mem = '256MB'");
    tx.exec0(
        "CREATE TEMP TABLE hg_stage (line bigint, value bytea, external_id text,"
        " quality smallint, note text) ON COMMIT DROP");
    using clock_type = std::chrono::steady_clock;
    auto t0 = clock_type::now();
    const auto lap = [&t0](std::chrono::nanoseconds& into) {
      const auto now = clock_type::now();
      into = now - t0;
      t0 = now;
    };
    list_parser parser(report.format, target.sig);
    line_reader reader(std::move(head), in);
    std::uint64_t staged = 0;
    {
      pqxx::stream_to stage(
          tx, "hg_stage",
          std::vector<std::string>{"line", "value", "external_id", "quality", "note"});
      std::string line;
      std::string quality;
      std::string value;
      while (reader.next(line)) {
        ++report.lines;
        line_result r = parser.parse_line(line);
        if (r.kind == line_kind::rejected) {
          ++report.rejected;
          if (report.rejected_lines.size() < options.max_listed_lines) {
            report.rejected_lines.push_back({report.lines, std::move(r.reason)});
          }
        } else if (r.kind == line_kind::entry) {
          quality = r.entry.quality ? std::to_string(*r.entry.quality) : std::string();
          // bytea's hex input form; COPY needs the backslash itself escaped (stream_to does).
          value = "\\x" + r.entry.value;
          stage << std::make_tuple(report.lines, value, r.entry.external_id,
                                   r.entry.quality ? quality.c_str() : nullptr, r.entry.note);
          ++staged;
        }
        if (options.progress && options.progress_every > 0 &&
            report.lines % options.progress_every == 0) {
          options.progress(report.lines, reader.bytes());
        }
      }
      stage.complete();
    }
    if (in.bad()) throw abort_with{errc::io_error, "read error in the import file"};
    lap(report.time.stage);

    // The first line of each new value wins; everything else staged is a duplicate. Entries
    // this import adds get ids above the sequence's value now: the list's row is locked, and
    // every entry it already has was numbered before.
    const auto numbered_before =
        tx.exec1("SELECT coalesce(pg_sequence_last_value('hashes_id_seq'), 0)")[0]
            .as<std::int64_t>();
    report.accepted =
        tx.exec_params1(
              "WITH ins AS ("
              " INSERT INTO hashes (list_id, value, external_id, quality, note)"
              " SELECT $1::bigint, f.value, nullif(f.external_id, ''), f.quality,"
              "        nullif(f.note, '')"
              "   FROM (SELECT DISTINCT ON (value) * FROM hg_stage ORDER BY value, line) f"
              "  WHERE NOT EXISTS (SELECT 1 FROM hashes h"
              "                     WHERE h.list_id = $1 AND h.value = f.value)"
              // Index order: inserting sorted keys keeps the unique index's pages hot. Entry
              // ids therefore follow hash order within one import.
              "  ORDER BY f.value"
              // No ON CONFLICT: the list's row is locked FOR UPDATE above, so no other import
              // can add to this list meanwhile, and NOT EXISTS already dropped what it holds.
              // Speculative insertion would cost a second index probe per row; the unique
              // index still guards.
              " RETURNING 1)"
              " SELECT count(*) FROM ins",
              target.id)[0]
            .as<std::uint64_t>();
    lap(report.time.insert);
    report.duplicates = staged - report.accepted;
    if (report.duplicates > 0 && options.max_listed_lines > 0) {
      auto dups = tx.exec_params(
          "SELECT s.line FROM hg_stage s LEFT JOIN"
          " (SELECT min(s2.line) AS line FROM hg_stage s2"
          "   JOIN hashes h ON h.list_id = $2 AND h.value = s2.value AND h.id > $3"
          "  GROUP BY s2.value) f ON f.line = s.line"
          " WHERE f.line IS NULL ORDER BY s.line LIMIT $1",
          static_cast<std::int64_t>(options.max_listed_lines), target.id, numbered_before);
      for (const auto& row : dups) {
        report.duplicate_lines.push_back({row[0].as<std::uint64_t>(), "duplicate"});
      }
    }
    if (report.accepted > 0 || found.empty()) {
      target = row_to_list(
          tx.exec_prepared1("lists_bump", target.id, static_cast<std::int64_t>(report.accepted)));
    }
    report.version = target.version;
    lap(report.time.report);
    tx.commit();
    lap(report.time.commit);
    if (options.progress) options.progress(report.lines, reader.bytes());
    return report;
  });
}

core::result<std::uint64_t> list_store::export_to(std::string_view name, list_format format,
                                                  std::ostream& out) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    auto found = tx.exec_prepared("lists_by_name", std::string(name));
    if (found.empty()) throw abort_with{errc::not_found, "no list named " + std::string(name)};
    const hash_list l = row_to_list(found[0]);
    if (l.sig == core::signal::vpdq) return export_vpdq(tx, l, out);
    tx.exec_params0(
        "CREATE TEMP TABLE hg_export ON COMMIT DROP AS"
        " SELECT encode(value, 'hex') AS v, coalesce(external_id, '') AS x,"
        "        coalesce(quality::text, '') AS q, coalesce(note, '') AS n"
        "   FROM hashes WHERE list_id = $1 AND retired_at IS NULL ORDER BY id",
        l.id);
    list_metadata meta;
    meta.name = l.name;
    meta.source = l.source;
    meta.sig = l.sig;
    meta.threshold = l.threshold;
    meta.act = l.act;
    meta.dihedral = l.dihedral;
    meta.review_threshold = l.review_threshold;
    meta.version = l.version;
    meta.entries = tx.exec1("SELECT count(*) FROM hg_export")[0].as<std::int64_t>();
    out << format_header(format, meta);
    std::uint64_t count = 0;
    pqxx::stream_from rows(tx, "hg_export");
    std::string raw;
    while (rows.get_raw_line(raw)) {
      if (!raw.empty() && raw.back() == '\n') raw.pop_back();
      auto f = split_tabs(raw);
      if (f.size() != 4) throw abort_with{errc::query_failed, "unexpected export row"};
      list_entry e;
      e.value = std::move(f[0]);
      e.external_id = std::move(f[1]);
      if (!f[2].empty()) {
        const auto quality = core::parse_int<int>(f[2]);
        if (!quality) throw abort_with{errc::query_failed, "unexpected quality in an export row"};
        e.quality = *quality;
      }
      e.note = std::move(f[3]);
      out << format_entry(format, l.sig, e);
      ++count;
    }
    rows.complete();
    tx.commit();
    if (!out) throw abort_with{errc::io_error, "write error in the export"};
    return count;
  });
}

}  // namespace hashguard::hashdb
