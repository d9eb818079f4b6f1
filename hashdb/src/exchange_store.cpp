#include "hashguard/hashdb/exchange_store.hpp"

#include "pg.hpp"

#include "hashguard/core/hex.hpp"

#include <map>
#include <regex>
#include <tuple>

namespace hashguard::hashdb {
namespace {

constexpr const char* exchange_columns =
    "id, name, kind, harm_type, reshare, feedback, auto_quarantine, checkpoint, generation,"
    " refetching, dirty, entries, added, updated, deleted, pages,"
    " coalesce(to_char(last_page_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " coalesce(to_char(last_success_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " coalesce(to_char(last_failure_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " last_error, consecutive_failures,"
    " CASE WHEN lease_until > clock_timestamp() THEN coalesce(lease_holder, '') ELSE '' END";

// Separates tags in the staging table's one text column (a tag never holds it).
constexpr char tag_separator = '\x1f';
constexpr std::size_t max_error_bytes = 2000;

bool valid_name(std::string_view name) {
  static const std::regex pattern("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  return std::regex_match(name.begin(), name.end(), pattern);
}

bool valid_kind(std::string_view kind) {
  static const std::regex pattern("[a-z][a-z0-9_]{0,31}");
  return std::regex_match(kind.begin(), kind.end(), pattern);
}

bool valid_foreign_signal(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (const char ch : s) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  }
  return true;
}

bool valid_threshold(core::signal sig, int threshold) {
  return threshold >= 0 && threshold <= core::max_threshold(sig);
}

bool valid_entry(const exchange_entry& e) {
  if (e.source_id.empty() || e.source_id.size() > 1024) return false;
  if (e.tags.size() > 32 || e.opinion.size() > 64) return false;
  for (const auto& t : e.tags) {
    if (t.size() > 128 || t.find(tag_separator) != std::string::npos) return false;
  }
  if (const auto sig = core::parse_signal(e.signal); sig && core::has_hex_entries(*sig)) {
    if (e.deleted && e.value.empty()) return true;
    if (e.value.size() != core::signal_hex_length(*sig)) return false;
    for (const char ch : e.value) {
      if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
    }
    return true;
  }
  return valid_foreign_signal(e.signal) && e.value.size() <= 4096;
}

std::string joined_tags(const std::vector<std::string>& tags) {
  std::string out;
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) out.push_back(tag_separator);
    out += tags[i];
  }
  return out;
}

exchange_state row_to_state(const pqxx::row& r) {
  exchange_state s;
  s.id = r[0].as<std::int64_t>();
  s.name = r[1].as<std::string>();
  s.kind = r[2].as<std::string>();
  s.harm = core::parse_harm_type(r[3].as<std::string>()).value_or(core::harm_type::csam);
  s.reshare = r[4].as<bool>();
  s.feedback = r[5].as<bool>();
  s.auto_quarantine = r[6].as<bool>();
  s.checkpoint = r[7].as<std::string>();
  s.generation = r[8].as<std::int64_t>();
  s.refetching = r[9].as<bool>();
  s.dirty = r[10].as<bool>();
  s.entries = r[11].as<std::int64_t>();
  s.added = r[12].as<std::int64_t>();
  s.updated = r[13].as<std::int64_t>();
  s.deleted = r[14].as<std::int64_t>();
  s.pages = r[15].as<std::int64_t>();
  s.last_page_at = r[16].as<std::string>();
  s.last_success_at = r[17].as<std::string>();
  s.last_failure_at = r[18].as<std::string>();
  s.last_error = r[19].as<std::string>();
  s.consecutive_failures = r[20].as<int>();
  s.lease_holder = r[21].as<std::string>();
  return s;
}

void load_lists(pqxx::transaction_base& tx, exchange_state& s) {
  for (const auto& row : tx.exec_params(
           "SELECT el.signal, el.list_id, l.name FROM exchange_lists el"
           " JOIN hash_lists l ON l.id = el.list_id WHERE el.exchange_id = $1 ORDER BY el.signal",
           s.id)) {
    exchange_state::fed_list f;
    f.sig = core::parse_signal(row[0].as<std::string>()).value_or(core::signal::pdq);
    f.list_id = row[1].as<std::int64_t>();
    f.list = row[2].as<std::string>();
    s.lists.push_back(std::move(f));
  }
}

exchange_state state_by_name(pqxx::transaction_base& tx, std::string_view name) {
  const auto r =
      tx.exec_params(std::string("SELECT ") + exchange_columns + " FROM exchanges WHERE name = $1",
                     std::string(name));
  if (r.empty()) throw abort_with{errc::not_found, "no exchange named " + std::string(name)};
  exchange_state s = row_to_state(r[0]);
  load_lists(tx, s);
  return s;
}

// Adds (list id -> count) pairs of a "SELECT list_id, n" result into `into`.
void add_counts(const pqxx::result& rows, std::map<std::int64_t, std::int64_t>& into, int column,
                std::int64_t sign) {
  for (const auto& row : rows)
    into[row[0].as<std::int64_t>()] += sign * row[column].as<std::int64_t>();
}

}  // namespace

core::result<exchange_state> exchange_store::register_exchange(const exchange_spec& spec) {
  if (!valid_name(spec.name) || !valid_kind(spec.kind)) return errc::invalid_argument;
  for (std::size_t i = 0; i < spec.feeds.size(); ++i) {
    const auto& f = spec.feeds[i];
    if (!valid_name(f.list) || !valid_threshold(f.sig, f.threshold)) return errc::invalid_argument;
    for (std::size_t j = 0; j < i; ++j) {
      if (spec.feeds[j].sig == f.sig || spec.feeds[j].list == f.list) {
        return errc::invalid_argument;
      }
    }
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    const std::string harm(core::to_string(spec.harm));
    const auto id =
        tx.exec_params1(
              "INSERT INTO exchanges AS x (name, kind, harm_type, reshare, feedback, "
              "auto_quarantine)"
              " VALUES ($1, $2, $3, $4, $5, $6)"
              " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind,"
              "   harm_type = excluded.harm_type, reshare = excluded.reshare,"
              "   feedback = excluded.feedback, auto_quarantine = excluded.auto_quarantine,"
              // Another protocol's checkpoint means nothing to this one: start over.
              "   checkpoint = CASE WHEN x.kind = excluded.kind THEN x.checkpoint ELSE '' END,"
              "   updated_at = now()"
              " RETURNING id",
              spec.name, spec.kind, harm, spec.reshare, spec.feedback, spec.auto_quarantine)[0]
            .as<std::int64_t>();
    tx.exec_params0("DELETE FROM exchange_lists WHERE exchange_id = $1", id);
    for (const auto& f : spec.feeds) {
      const std::string sig(core::to_string(f.sig));
      const std::string act(core::to_string(f.act));
      const auto found = tx.exec_params(
          "SELECT id, signal, retired_at IS NOT NULL, threshold, action, harm_type"
          " FROM hash_lists WHERE name = $1 FOR UPDATE",
          f.list);
      std::int64_t list_id = 0;
      if (found.empty()) {
        list_id = tx.exec_params1(
                        "INSERT INTO hash_lists (name, source, signal, threshold, action,"
                        " harm_type) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                        f.list, spec.name, sig, f.threshold, act, harm)[0]
                      .as<std::int64_t>();
      } else {
        const auto& row = found[0];
        list_id = row[0].as<std::int64_t>();
        if (row[2].as<bool>()) throw abort_with{errc::conflict, "list " + f.list + " is retired"};
        if (row[1].as<std::string>() != sig) {
          throw abort_with{errc::conflict, "list " + f.list + " holds another signal"};
        }
        if (row[3].as<int>() != f.threshold || row[4].as<std::string>() != act ||
            row[5].as<std::string>() != harm) {
          tx.exec_params0(
              "UPDATE hash_lists SET threshold = $2, action = $3, harm_type = $4,"
              " version = nextval('list_version_seq'), updated_at = now() WHERE id = $1",
              list_id, f.threshold, act, harm);
        }
      }
      tx.exec_params0(
          "INSERT INTO exchange_lists (exchange_id, signal, list_id) VALUES ($1, $2, $3)", id, sig,
          list_id);
    }
    exchange_state s = state_by_name(tx, spec.name);
    tx.commit();
    return s;
  });
}

core::result<exchange_state> exchange_store::get(std::string_view name) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    return state_by_name(tx, name);
  });
}

core::result<std::vector<exchange_state>> exchange_store::list() {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    std::vector<exchange_state> out;
    for (const auto& row :
         tx.exec(std::string("SELECT ") + exchange_columns + " FROM exchanges ORDER BY name")) {
      out.push_back(row_to_state(row));
      load_lists(tx, out.back());
    }
    return out;
  });
}

core::result<bool> exchange_store::acquire_lease(std::string_view name, std::string_view holder,
                                                 std::chrono::seconds ttl) {
  if (holder.empty()) return errc::invalid_argument;
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    const auto taken = tx.exec_params(
        "UPDATE exchanges SET lease_holder = $2,"
        " lease_until = clock_timestamp() + make_interval(secs => $3)"
        " WHERE name = $1 AND (lease_holder IS NULL OR lease_holder = $2"
        "                      OR lease_until <= clock_timestamp())"
        " RETURNING id",
        std::string(name), std::string(holder), static_cast<double>(ttl.count()));
    if (taken.empty() &&
        tx.exec_params("SELECT 1 FROM exchanges WHERE name = $1", std::string(name)).empty()) {
      throw abort_with{errc::not_found, "no exchange named " + std::string(name)};
    }
    tx.commit();
    return !taken.empty();
  });
}

core::result<void> exchange_store::release_lease(std::string_view name, std::string_view holder) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    tx.exec_params0(
        "UPDATE exchanges SET lease_holder = NULL, lease_until = NULL"
        " WHERE name = $1 AND lease_holder = $2",
        std::string(name), std::string(holder));
    tx.commit();
  });
}

core::result<page_outcome> exchange_store::apply_page(std::string_view name,
                                                      std::string_view holder,
                                                      std::string_view from,
                                                      const exchange_page& page,
                                                      std::chrono::seconds ttl) {
  if (page.checkpoint.size() > 4096) return errc::invalid_argument;
  for (const auto& e : page.entries) {
    if (!valid_entry(e)) return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    const auto x = tx.exec_params(
        "SELECT id, checkpoint, lease_holder = $2 AND lease_until > clock_timestamp(),"
        " generation, refetching FROM exchanges WHERE name = $1 FOR UPDATE",
        std::string(name), std::string(holder));
    if (x.empty()) throw abort_with{errc::not_found, "no exchange named " + std::string(name)};
    const auto id = x[0][0].as<std::int64_t>();
    if (x[0][2].is_null() || !x[0][2].as<bool>()) {
      throw abort_with{errc::conflict, "this node does not hold the exchange's lease"};
    }
    if (x[0][1].as<std::string>() != from) {
      throw abort_with{errc::conflict, "the exchange's checkpoint moved since this fetch"};
    }
    std::int64_t generation = x[0][3].as<std::int64_t>();
    bool refetching = x[0][4].as<bool>();
    if (page.restart) {
      ++generation;
      refetching = true;
    }
    // The fed lists' rows first, as an import locks them: imports and pages never interleave.
    tx.exec_params(
        "SELECT l.id FROM exchange_lists el JOIN hash_lists l ON l.id = el.list_id"
        " WHERE el.exchange_id = $1 ORDER BY l.id FOR UPDATE OF l",
        id);

    page_outcome out;
    std::map<std::int64_t, std::int64_t> live_delta;  // list id -> change of its live entries
    if (!page.entries.empty()) {
      tx.exec0("SET LOCAL work_mem = '256MB'");
      tx.exec0(
          "CREATE TEMP TABLE hg_xstage (ord bigint, signal text, source_id text, value text,"
          " deleted boolean, tags text, opinion text) ON COMMIT DROP");
      {
        pqxx::stream_to stage(tx, "hg_xstage",
                              std::vector<std::string>{"ord", "signal", "source_id", "value",
                                                       "deleted", "tags", "opinion"});
        std::int64_t ord = 0;
        for (const auto& e : page.entries) {
          stage << std::make_tuple(ord++, e.signal, e.source_id, e.value, e.deleted ? "t" : "f",
                                   joined_tags(e.tags), e.opinion);
        }
        stage.complete();
      }
      // The last statement of each entry in the page wins.
      tx.exec_params0(
          "CREATE TEMP TABLE hg_xfinal ON COMMIT DROP AS"
          " SELECT DISTINCT ON (s.signal, s.source_id) s.*, el.list_id"
          "   FROM hg_xstage s LEFT JOIN exchange_lists el"
          "     ON el.exchange_id = $1 AND el.signal = s.signal"
          "  ORDER BY s.signal, s.source_id, s.ord DESC",
          id);
      // Deletions, and rows whose entry now has another value, go.
      const auto gone = tx.exec_params(
          "WITH d AS (DELETE FROM hashes h USING hg_xfinal f"
          "  WHERE f.list_id IS NOT NULL AND h.exchange_id = $1 AND h.list_id = f.list_id"
          "    AND h.source_id = f.source_id"
          "    AND (f.deleted OR h.value <> decode(f.value, 'hex'))"
          "  RETURNING h.list_id, h.retired_at IS NULL AS live)"
          " SELECT list_id, count(*) FILTER (WHERE live), count(*) FROM d GROUP BY list_id",
          id);
      add_counts(gone, live_delta, 1, -1);
      for (const auto& row : gone) out.deleted += row[2].as<std::uint64_t>();
      // Adds and updates: one row per (list, value); a disabled entry stays disabled.
      const auto upserted = tx.exec_params(
          "WITH u AS (INSERT INTO hashes AS h (list_id, value, external_id, exchange_id,"
          "   source_id, tags, opinion, first_seen, last_seen, exchange_generation)"
          "  SELECT f.list_id, f.v, f.source_id, $1, f.source_id,"
          "         string_to_array(f.tags, chr(31)), nullif(f.opinion, ''), now(), now(), $2"
          "    FROM (SELECT DISTINCT ON (list_id, decode(value, 'hex')) *,"
          "                 decode(value, 'hex') AS v FROM hg_xfinal"
          "           WHERE list_id IS NOT NULL AND NOT deleted"
          "           ORDER BY list_id, decode(value, 'hex'), ord DESC) f"
          "   ORDER BY f.list_id, f.v"
          "  ON CONFLICT (list_id, value) DO UPDATE SET exchange_id = excluded.exchange_id,"
          "    source_id = excluded.source_id, tags = excluded.tags, opinion = excluded.opinion,"
          "    first_seen = coalesce(h.first_seen, excluded.first_seen),"
          "    last_seen = excluded.last_seen,"
          "    exchange_generation = excluded.exchange_generation"
          "  RETURNING h.list_id, (xmax = 0) AS inserted)"
          " SELECT list_id, count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)"
          "   FROM u GROUP BY list_id",
          id, generation);
      add_counts(upserted, live_delta, 1, 1);
      for (const auto& row : upserted) {
        out.added += row[1].as<std::uint64_t>();
        out.updated += row[2].as<std::uint64_t>();
      }
      // Entries no matcher loads: other signals, or signals this exchange feeds no list with.
      out.deleted += tx.exec_params(
                           "WITH d AS (DELETE FROM exchange_unmatched u USING hg_xfinal f"
                           "  WHERE f.list_id IS NULL AND f.deleted AND u.exchange_id = $1"
                           "    AND u.signal = f.signal AND u.source_id = f.source_id"
                           "  RETURNING 1) SELECT count(*) FROM d",
                           id)[0][0]
                         .as<std::uint64_t>();
      const auto kept = tx.exec_params(
          "WITH u AS (INSERT INTO exchange_unmatched AS u (exchange_id, signal, source_id, value,"
          "   tags, opinion, generation)"
          "  SELECT $1, f.signal, f.source_id, f.value, string_to_array(f.tags, chr(31)),"
          "         nullif(f.opinion, ''), $2 FROM hg_xfinal f"
          "   WHERE f.list_id IS NULL AND NOT f.deleted"
          "  ON CONFLICT (exchange_id, signal, source_id) DO UPDATE SET value = excluded.value,"
          "    tags = excluded.tags, opinion = excluded.opinion, last_seen = now(),"
          "    generation = excluded.generation"
          "  RETURNING (xmax = 0) AS inserted)"
          " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM u",
          id, generation);
      out.added += kept[0][0].as<std::uint64_t>();
      out.updated += kept[0][1].as<std::uint64_t>();
      out.unmatched = kept[0][0].as<std::uint64_t>() + kept[0][1].as<std::uint64_t>();
    }
    if (refetching && !page.more) {
      // The re-fetch is complete: what it did not deliver again is gone at the source.
      const auto stale = tx.exec_params(
          "WITH d AS (DELETE FROM hashes h USING exchange_lists el"
          "  WHERE el.exchange_id = $1 AND h.list_id = el.list_id AND h.exchange_id = $1"
          "    AND h.exchange_generation < $2"
          "  RETURNING h.list_id, h.retired_at IS NULL AS live)"
          " SELECT list_id, count(*) FILTER (WHERE live), count(*) FROM d GROUP BY list_id",
          id, generation);
      add_counts(stale, live_delta, 1, -1);
      for (const auto& row : stale) out.deleted += row[2].as<std::uint64_t>();
      out.deleted += tx.exec_params(
                           "WITH d AS (DELETE FROM exchange_unmatched WHERE exchange_id = $1"
                           "  AND generation < $2 RETURNING 1) SELECT count(*) FROM d",
                           id, generation)[0][0]
                         .as<std::uint64_t>();
      refetching = false;
    }
    for (const auto& [list_id, delta] : live_delta) {
      if (delta == 0) continue;
      tx.exec_params0("UPDATE hash_lists SET entries = greatest(entries + $2, 0) WHERE id = $1",
                      list_id, delta);
    }
    const bool changed = out.added > 0 || out.deleted > 0;
    tx.exec_params0(
        "UPDATE exchanges SET checkpoint = $2, generation = $3, refetching = $4,"
        " dirty = dirty OR $5, added = added + $6, updated = updated + $7,"
        " deleted = deleted + $8, entries = greatest(entries + $6 - $8, 0), pages = pages + 1,"
        " last_page_at = now(), lease_until = clock_timestamp() + make_interval(secs => $9),"
        " updated_at = now() WHERE id = $1",
        id, page.checkpoint, generation, refetching, changed, static_cast<std::int64_t>(out.added),
        static_cast<std::int64_t>(out.updated), static_cast<std::int64_t>(out.deleted),
        static_cast<double>(ttl.count()));
    tx.commit();
    return out;
  });
}

core::result<exchange_state> exchange_store::finish_batch(std::string_view name,
                                                          std::string_view holder,
                                                          std::string_view error) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    const auto x = tx.exec_params(
        "SELECT id, dirty, coalesce(lease_holder = $2, false) FROM exchanges"
        " WHERE name = $1 FOR UPDATE",
        std::string(name), std::string(holder));
    if (x.empty()) throw abort_with{errc::not_found, "no exchange named " + std::string(name)};
    if (!x[0][2].as<bool>()) {
      throw abort_with{errc::conflict, "this node does not hold the exchange's lease"};
    }
    const auto id = x[0][0].as<std::int64_t>();
    if (x[0][1].as<bool>()) {
      // One version move per batch: every node rebuilds its snapshot once for it.
      tx.exec_params0(
          "UPDATE hash_lists SET version = nextval('list_version_seq'), updated_at = now()"
          " WHERE id IN (SELECT list_id FROM exchange_lists WHERE exchange_id = $1)",
          id);
    }
    const std::string reason(error.substr(0, max_error_bytes));
    tx.exec_params0(
        "UPDATE exchanges SET dirty = false,"
        " entries = (SELECT count(*) FROM hashes WHERE exchange_id = $1)"
        "         + (SELECT count(*) FROM exchange_unmatched WHERE exchange_id = $1),"
        " last_success_at = CASE WHEN $2 = '' THEN now() ELSE last_success_at END,"
        " last_failure_at = CASE WHEN $2 = '' THEN last_failure_at ELSE now() END,"
        " last_error = $2,"
        " consecutive_failures = CASE WHEN $2 = '' THEN 0 ELSE consecutive_failures + 1 END,"
        " updated_at = now() WHERE id = $1",
        id, reason);
    exchange_state s = state_by_name(tx, name);
    tx.commit();
    return s;
  });
}

}  // namespace hashguard::hashdb
