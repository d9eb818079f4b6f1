// Report holds, legal holds and law-enforcement destruction (holds.hpp).
#include "hashguard/hashdb/holds.hpp"

#include "audit_internal.hpp"
#include "case_rows.hpp"
#include "pg.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace hashguard::hashdb {
namespace {

namespace json = boost::json;

case_summary load_summary(pqxx::transaction_base& tx, std::int64_t case_id) {
  const auto r = tx.exec_params(
      "SELECT " + detail::case_select_columns() + " FROM cases c WHERE c.id = $1", case_id);
  if (r.empty()) throw abort_with{errc::not_found, "no case " + std::to_string(case_id)};
  return detail::case_from_row(r[0]);
}

void lock_case(pqxx::work& tx, std::int64_t case_id) {
  if (tx.exec_params("SELECT 1 FROM cases WHERE id = $1 FOR UPDATE", case_id).empty()) {
    throw abort_with{errc::not_found, "no case " + std::to_string(case_id)};
  }
}

std::string subject_of(std::int64_t case_id) {
  return "case:" + std::to_string(case_id);
}

const std::string request_columns = "id, case_id, reference, requested_by, " +
                                    detail::iso_of("requested_at") + ", approved_by, " +
                                    detail::iso_of("approved_at") + ", destroyed";

destruction_request request_from_row(const pqxx::row& r) {
  destruction_request d;
  d.id = r[0].as<std::int64_t>();
  d.case_id = r[1].as<std::int64_t>();
  d.reference = r[2].as<std::string>();
  d.requested_by = r[3].as<std::string>();
  d.requested_at = r[4].as<std::string>();
  d.approved_by = opt_text(r[5]);
  d.approved_at = opt_text(r[6]);
  if (!r[7].is_null()) d.destroyed = r[7].as<int>();
  return d;
}

}  // namespace

namespace detail {

std::string apply_report_hold(pqxx::work& tx, std::int64_t case_id, std::int64_t finished_us,
                              int hold_days, std::string_view actor) {
  // Never shorter than the law's year, whatever a caller passes.
  hold_days = std::max(hold_days, min_report_hold_days);
  // greatest(): a second finished report (or a replayed call) never shortens the hold.
  const auto r = tx.exec_params(
      "UPDATE cases SET"
      "  report_hold_until = greatest(report_hold_until, 'epoch'::timestamptz"
      "    + $2 * interval '1 microsecond' + make_interval(days => $3)),"
      "  preserve_until = greatest(preserve_until, 'epoch'::timestamptz"
      "    + $2 * interval '1 microsecond' + make_interval(days => $3))"
      " WHERE id = $1 RETURNING " +
          iso_of("report_hold_until"),
      case_id, finished_us, hold_days);
  if (r.empty()) throw abort_with{errc::not_found, "no case " + std::to_string(case_id)};
  std::string until = r[0][0].as<std::string>();
  audit_append(tx, actor, "case.report_hold", "case:" + std::to_string(case_id),
               boost::json::serialize(boost::json::object{{"until", until}, {"days", hold_days}}));
  return until;
}

}  // namespace detail

core::result<std::string> start_report_hold(connection& c, std::int64_t case_id,
                                            std::int64_t finished_us, int hold_days,
                                            std::string_view actor) {
  if (hold_days < min_report_hold_days) return errc::invalid_argument;
  return guarded(c, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    lock_case(tx, case_id);
    std::string until = detail::apply_report_hold(tx, case_id, finished_us, hold_days, actor);
    tx.commit();
    return until;
  });
}

core::result<case_summary> set_legal_hold(connection& c, const legal_hold_input& in,
                                          std::string_view actor) {
  if (!detail::valid_audit_reason(in.reason)) return errc::invalid_argument;
  if (in.until_us && *in.until_us <= now_us()) return errc::invalid_argument;
  return guarded(c, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    lock_case(tx, in.case_id);
    tx.exec_params0(
        "UPDATE cases SET legal_hold = true, legal_hold_reason = $2,"
        "  legal_hold_until = 'epoch'::timestamptz + $3 * interval '1 microsecond',"
        "  legal_hold_by = $4, legal_hold_at = now() WHERE id = $1",
        in.case_id, in.reason, in.until_us, std::string(actor));
    case_summary s = load_summary(tx, in.case_id);
    detail::audit_append(
        tx, actor, "case.legal_hold", subject_of(in.case_id),
        json::serialize(json::object{
            {"reason", in.reason},
            {"until", s.legal_hold_until ? json::value(*s.legal_hold_until) : nullptr}}));
    tx.commit();
    return s;
  });
}

core::result<case_summary> lift_legal_hold(connection& c, std::int64_t case_id,
                                           std::string_view reason, std::string_view actor) {
  if (!detail::valid_audit_reason(reason)) return errc::invalid_argument;
  return guarded(c, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    lock_case(tx, case_id);
    // Only the manual hold: report_hold_until is left as it is, so lifting never brings the
    // case below its report hold.
    if (tx.exec_params("UPDATE cases SET legal_hold = false, legal_hold_reason = NULL,"
                       " legal_hold_until = NULL, legal_hold_by = NULL, legal_hold_at = NULL"
                       " WHERE id = $1 AND legal_hold RETURNING id",
                       case_id)
            .empty()) {
      throw abort_with{errc::conflict, "case " + std::to_string(case_id) + " has no legal hold"};
    }
    case_summary s = load_summary(tx, case_id);
    detail::audit_append(tx, actor, "case.legal_hold_lift", subject_of(case_id),
                         json::serialize(json::object{{"reason", reason}}));
    tx.commit();
    return s;
  });
}

core::result<destruction_request> request_destruction(connection& c, std::int64_t case_id,
                                                      std::string_view reference,
                                                      std::string_view actor) {
  if (reference.size() > 500 || !detail::valid_audit_reason(reference)) {
    return errc::invalid_argument;
  }
  return guarded(c, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    lock_case(tx, case_id);
    // The partial unique index allows one pending request per case (unique_violation:
    // already_exists).
    const auto r = tx.exec_params1(
        "INSERT INTO destruction_requests (case_id, reference, requested_by)"
        " VALUES ($1, $2, $3) RETURNING " +
            request_columns,
        case_id, std::string(reference), std::string(actor));
    destruction_request d = request_from_row(r);
    detail::audit_append(
        tx, actor, "evidence.destruction_request", subject_of(case_id),
        json::serialize(json::object{{"request", d.id}, {"reference", d.reference}}));
    tx.commit();
    return d;
  });
}

core::result<destruction_request> approve_destruction(connection& c, std::int64_t case_id,
                                                      std::string_view actor) {
  return guarded(c, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    lock_case(tx, case_id);
    const auto pending = tx.exec_params(
        "SELECT " + request_columns +
            " FROM destruction_requests WHERE case_id = $1 AND approved_at IS NULL FOR UPDATE",
        case_id);
    if (pending.empty()) {
      throw abort_with{errc::not_found,
                       "no pending destruction request for case " + std::to_string(case_id)};
    }
    destruction_request d = request_from_row(pending[0]);
    // Two people: the key that asked never approves its own request.
    if (d.requested_by == actor) {
      throw abort_with{errc::conflict, "the key that requested the destruction cannot approve it"};
    }
    // The law-enforcement request overrides the holds: the evidence goes whatever holds it.
    json::array contents;
    for (const auto& row : tx.exec_params(
             "DELETE FROM evidence WHERE case_id = $1 RETURNING encode(content, 'hex')", case_id)) {
      contents.push_back(json::value(row[0].as<std::string>()));
    }
    const auto n = static_cast<int>(contents.size());
    const auto r = tx.exec_params1(
        "UPDATE destruction_requests SET approved_by = $2, approved_at = now(), destroyed = $3"
        " WHERE id = $1 RETURNING " +
            request_columns,
        d.id, std::string(actor), n);
    d = request_from_row(r);
    tx.exec_params0("UPDATE cases SET evidence_destroyed_at = now() WHERE id = $1", case_id);
    detail::audit_append(tx, actor, "evidence.destroy", subject_of(case_id),
                         json::serialize(json::object{{"request", d.id},
                                                      {"reference", d.reference},
                                                      {"requested_by", d.requested_by},
                                                      {"law", "18 U.S.C. 2258B(c)"},
                                                      {"destroyed", n},
                                                      {"contents", std::move(contents)}}));
    tx.commit();
    return d;
  });
}

core::result<std::vector<destruction_request>> destruction_requests(connection& c,
                                                                    std::int64_t case_id) {
  return guarded(c, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    std::vector<destruction_request> out;
    for (const auto& r :
         tx.exec_params("SELECT " + request_columns +
                            " FROM destruction_requests WHERE case_id = $1 ORDER BY id",
                        case_id)) {
      out.push_back(request_from_row(r));
    }
    return out;
  });
}

}  // namespace hashguard::hashdb
