#include "hashguard/hashdb/feedback_store.hpp"

#include "pg.hpp"

#include <algorithm>

namespace hashguard::hashdb {

core::result<std::vector<feedback_item>> feedback_store::claim(std::string_view exchange,
                                                               std::size_t limit,
                                                               std::chrono::seconds lease) {
  if (limit < 1 || limit > 1000 || lease.count() < 1) return errc::invalid_argument;
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    const auto rows = tx.exec_params(
        "UPDATE exchange_feedback f SET next_attempt_at = now() + make_interval(secs => $3)"
        "  FROM (SELECT id FROM exchange_feedback"
        "         WHERE exchange = $1 AND status = 'pending' AND next_attempt_at <= now()"
        "         ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) d"
        " WHERE f.id = d.id"
        " RETURNING f.id, f.case_id, f.exchange, f.source_id, f.signal, f.value, f.positive,"
        "           f.attempts",
        std::string(exchange), static_cast<std::int64_t>(limit),
        static_cast<double>(lease.count()));
    std::vector<feedback_item> out;
    for (const auto& r : rows) {
      out.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::string>(),
                     r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                     r[6].as<bool>(), r[7].as<int>()});
    }
    std::sort(out.begin(), out.end(),
              [](const feedback_item& a, const feedback_item& b) { return a.id < b.id; });
    tx.commit();
    return out;
  });
}

core::result<void> feedback_store::sent(std::int64_t id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    tx.exec_params0(
        "UPDATE exchange_feedback SET status = 'sent', sent_at = now(), attempts = attempts + 1,"
        " last_error = '' WHERE id = $1",
        id);
    tx.commit();
  });
}

core::result<void> feedback_store::failed(std::int64_t id, std::string_view error,
                                          std::chrono::milliseconds retry_in, bool give_up) {
  std::string kept(error.substr(0, 1024));
  if (kept.size() < error.size()) {
    // Cut on a character boundary (the column is UTF-8 text): drop a split last character.
    while (!kept.empty() && (static_cast<unsigned char>(kept.back()) & 0xC0) == 0x80)
      kept.pop_back();
    if (!kept.empty() && (static_cast<unsigned char>(kept.back()) & 0xC0) == 0xC0) kept.pop_back();
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    tx.exec_params0(
        "UPDATE exchange_feedback SET attempts = attempts + 1, last_error = $2,"
        " status = CASE WHEN $3 THEN 'failed' ELSE 'pending' END,"
        " next_attempt_at = now() + make_interval(secs => $4) WHERE id = $1",
        id, kept, give_up, static_cast<double>(retry_in.count()) / 1000.0);
    tx.commit();
  });
}

}  // namespace hashguard::hashdb
