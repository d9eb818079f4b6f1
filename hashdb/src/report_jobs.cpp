#include "hashguard/hashdb/report_jobs.hpp"

#include "audit_internal.hpp"
#include "case_rows.hpp"
#include "pg.hpp"

#include <boost/json.hpp>

#include <string>
#include <utility>

namespace hashguard::hashdb {

namespace {

// The columns job_from_row reads, by position, over `report_jobs j`.
std::string job_columns() {
  using detail::iso_of;
  return "j.id, j.case_id, j.environment, j.state, j.step, j.file_index, j.file_count,"
         " j.report_id, array_to_json(j.file_ids)::text, j.attempts, j.restarts, j.last_error,"
         " j.requested_by, " +
         iso_of("j.created_at") + ", " + iso_of("j.updated_at") + ", " + iso_of("j.opened_at") +
         ", " + iso_of("j.open_deadline") + ", " + iso_of("j.finished_at") +
         ", coalesce(j.open_deadline < now(), false)"
         ", coalesce(j.state = 'queued' AND j.lease_until > now(), false), " +
         iso_of("j.next_attempt_at") +
         ", EXISTS (SELECT 1 FROM report_receipts x WHERE x.job_id = j.id AND x.step = 'retract'"
         "          AND x.response_code IN (0, 4200))";
}

report_job job_from_row(const pqxx::row& r) {
  report_job j;
  j.id = r[0].as<std::int64_t>();
  j.case_id = r[1].as<std::int64_t>();
  j.environment = r[2].as<std::string>();
  j.state = r[3].as<std::string>();
  j.step = r[4].as<std::string>();
  j.file_index = r[5].as<int>();
  j.file_count = r[6].as<int>();
  j.report_id = opt_text(r[7]);
  const boost::json::value ids = boost::json::parse(r[8].as<std::string>());
  for (const auto& v : ids.as_array()) {
    j.file_ids.emplace_back(v.as_string());
  }
  j.attempts = r[9].as<int>();
  j.restarts = r[10].as<int>();
  j.last_error = opt_text(r[11]);
  j.requested_by = r[12].as<std::string>();
  j.created_at = r[13].as<std::string>();
  j.updated_at = r[14].as<std::string>();
  j.opened_at = opt_text(r[15]);
  j.open_deadline = opt_text(r[16]);
  j.finished_at = opt_text(r[17]);
  j.open_deadline_passed = r[18].as<bool>();
  j.running = r[19].as<bool>();
  j.next_attempt_at = r[20].as<std::string>();
  j.retracted = r[21].as<bool>();
  return j;
}

bool valid_state(const std::string& s) {
  return s == "queued" || s == "finished" || s == "failed";
}
bool valid_step(const std::string& s) {
  return s == "submit" || s == "upload" || s == "fileinfo" || s == "finish" || s == "retract" ||
         s == "done";
}

std::string text_array(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return boost::json::serialize(a);
}

report_job select_job(pqxx::transaction_base& tx, std::int64_t job_id) {
  auto r =
      tx.exec_params("SELECT " + job_columns() + " FROM report_jobs j WHERE j.id = $1", job_id);
  if (r.empty()) throw abort_with{errc::not_found, "no report job " + std::to_string(job_id)};
  return job_from_row(r[0]);
}

}  // namespace

core::result<std::int64_t> report_job_store::create(std::int64_t case_id,
                                                    std::string_view environment,
                                                    std::string_view actor, bool allow_no_files) {
  if (environment != "production" && environment != "test") return errc::invalid_argument;
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    auto c =
        tx.exec_params("SELECT status, harm_type FROM cases WHERE id = $1 FOR UPDATE", case_id);
    const std::string name = "case " + std::to_string(case_id);
    if (c.empty()) throw abort_with{errc::not_found, "no " + name};
    const auto status = c[0][0].as<std::string>();
    detail::require_csam(c[0][1].as<std::string>(), case_id, "the CyberTipline queue");
    // A production report already stands for this case: filing again would be a second report.
    if (!tx.exec_params("SELECT 1 FROM reports WHERE case_id = $1 AND environment = 'production'",
                        case_id)
             .empty()) {
      throw abort_with{errc::report_recorded, name + " already has a production report"};
    }
    if (status != "confirmed") {
      throw abort_with{errc::not_confirmed, name + " is " + status + ", not confirmed"};
    }
    // The case's row lock (above) serialises concurrent creates: no race past this check.
    if (!tx.exec_params("SELECT 1 FROM report_jobs WHERE case_id = $1"
                        " AND state IN ('queued', 'finished')",
                        case_id)
             .empty()) {
      throw abort_with{errc::job_exists, name + " already has a queued or finished filing job"};
    }
    if (!allow_no_files &&
        tx.exec_params("SELECT 1 FROM evidence WHERE case_id = $1 LIMIT 1", case_id).empty()) {
      throw abort_with{errc::no_evidence,
                       name + " has no preserved evidence (reporting.allow_no_files is off)"};
    }
    const auto id = tx.exec_params1(
                          "INSERT INTO report_jobs (case_id, environment, requested_by)"
                          " VALUES ($1, $2, $3) RETURNING id",
                          case_id, std::string(environment), std::string(actor))[0]
                        .as<std::int64_t>();
    boost::json::object detail;
    detail["job_id"] = id;
    detail["environment"] = environment;
    detail::audit_append(tx, actor, "report.job_start", "case:" + std::to_string(case_id),
                         boost::json::serialize(detail));
    tx.commit();
    return id;
  });
}

namespace {

// Confirmed csam cases without a finished report in environment $1, with when they were
// confirmed (the last confirming decision of the current round; the case's opening when a
// ruling or an older store left none).
std::string queue_sql() {
  return "WITH q AS ("
         " SELECT c.id, c.zone, coalesce((SELECT max(d.decided_at) FROM decisions d"
         "   WHERE d.case_id = c.id AND d.round = c.round AND d.decision = 'confirmed'),"
         "   c.opened_at) AS confirmed_at"
         " FROM cases c WHERE c.status = 'confirmed' AND c.harm_type = 'csam'"
         "  AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.case_id = c.id"
         "                  AND r.environment = $1))"
         " SELECT q.id, q.zone, " +
         detail::iso_of("q.confirmed_at") +
         ", (extract(epoch FROM q.confirmed_at) * 1000000)::bigint,"
         " greatest(0, extract(epoch FROM now() - q.confirmed_at))::bigint,"
         " (SELECT count(*) FROM case_files f WHERE f.case_id = q.id),"
         " (SELECT count(*) FROM evidence e WHERE e.case_id = q.id)"
         " FROM q";
}

}  // namespace

core::result<std::vector<queue_row>> report_job_store::queue(
    std::string_view environment, std::size_t limit,
    std::optional<std::pair<std::int64_t, std::int64_t>> after) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    std::vector<queue_row> out;
    const auto rows = tx.exec_params(
        queue_sql() +
            " WHERE $2::bigint IS NULL OR ((extract(epoch FROM q.confirmed_at) * 1000000)::bigint,"
            " q.id) > ($2::bigint, $3::bigint)"
            " ORDER BY q.confirmed_at, q.id LIMIT $4",
        std::string(environment), after ? std::optional<std::int64_t>(after->first) : std::nullopt,
        after ? after->second : std::int64_t{0}, static_cast<std::int64_t>(limit));
    for (const auto& r : rows) {
      queue_row q;
      q.case_id = r[0].as<std::int64_t>();
      q.zone = r[1].as<std::string>();
      q.confirmed_at = r[2].as<std::string>();
      q.confirmed_us = r[3].as<std::int64_t>();
      q.waiting_s = r[4].as<std::int64_t>();
      q.files = r[5].as<std::int64_t>();
      q.evidence_files = r[6].as<std::int64_t>();
      auto j = tx.exec_params("SELECT " + job_columns() +
                                  " FROM report_jobs j WHERE j.case_id = $1 ORDER BY j.id DESC"
                                  " LIMIT 1",
                              q.case_id);
      if (!j.empty()) q.job = job_from_row(j[0]);
      out.push_back(std::move(q));
    }
    return out;
  });
}

core::result<int> report_job_store::queue_unfiled(std::string_view environment, bool allow_no_files,
                                                  std::string_view actor) {
  std::vector<std::int64_t> candidates;
  auto found = guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    for (const auto& r : tx.exec_params(
             queue_sql() + " WHERE NOT EXISTS (SELECT 1 FROM report_jobs j WHERE j.case_id = q.id)"
                           " ORDER BY q.confirmed_at, q.id LIMIT 100",
             std::string(environment))) {
      candidates.push_back(r[0].as<std::int64_t>());
    }
  });
  if (!found) return found.error();
  int queued = 0;
  for (const auto id : candidates) {
    auto made = create(id, environment, actor, allow_no_files);
    if (made) {
      ++queued;
    } else if (made.error() == errc::unavailable || made.error() == errc::query_failed) {
      return made.error();
    }  // else refused (decided meanwhile, no evidence...): stays in the queue for a person
  }
  return queued;
}

core::result<std::vector<std::pair<std::string, std::int64_t>>> report_job_store::counts() {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    std::vector<std::pair<std::string, std::int64_t>> out{
        {"queued", 0}, {"running", 0}, {"finished", 0}, {"failed", 0}};
    for (const auto& r :
         tx.exec("SELECT CASE WHEN state = 'queued' AND lease_until > now() THEN 'running'"
                 " ELSE state END, count(*) FROM report_jobs GROUP BY 1")) {
      for (auto& [state, n] : out) {
        if (state == r[0].as<std::string>()) n = r[1].as<std::int64_t>();
      }
    }
    return out;
  });
}

core::result<report_job> report_job_store::get(std::int64_t job_id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    return select_job(tx, job_id);
  });
}

core::result<std::optional<report_job>> report_job_store::latest_for_case(std::int64_t case_id) {
  return guarded(conn_, [&](pqxx::connection& pc) -> std::optional<report_job> {
    pqxx::read_transaction tx(pc);
    auto r =
        tx.exec_params("SELECT " + job_columns() +
                           " FROM report_jobs j WHERE j.case_id = $1 ORDER BY j.id DESC LIMIT 1",
                       case_id);
    if (r.empty()) return std::nullopt;
    return job_from_row(r[0]);
  });
}

core::result<std::optional<report_job>> report_job_store::claim(std::string_view owner,
                                                                std::chrono::milliseconds lease) {
  return guarded(conn_, [&](pqxx::connection& pc) -> std::optional<report_job> {
    pqxx::work tx(pc);
    // SKIP LOCKED: a job another runner is claiming right now is passed over, never waited on.
    auto r = tx.exec_params(
        "UPDATE report_jobs SET lease_owner = $1,"
        " lease_until = now() + $2 * interval '1 millisecond'"
        " WHERE id = (SELECT id FROM report_jobs"
        "              WHERE state = 'queued' AND next_attempt_at <= now()"
        "                AND (lease_until IS NULL OR lease_until <= now())"
        "              ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id",
        std::string(owner), static_cast<std::int64_t>(lease.count()));
    if (r.empty()) return std::nullopt;
    report_job j = select_job(tx, r[0][0].as<std::int64_t>());
    tx.commit();
    return j;
  });
}

core::result<void> report_job_store::release(std::int64_t job_id, std::string_view owner) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    tx.exec_params0(
        "UPDATE report_jobs SET lease_owner = NULL, lease_until = NULL"
        " WHERE id = $1 AND lease_owner = $2",
        job_id, std::string(owner));
    tx.commit();
  });
}

core::result<report_job> report_job_store::record_step(std::int64_t job_id, std::string_view owner,
                                                       std::chrono::milliseconds lease,
                                                       const report_receipt& receipt,
                                                       const job_update& u,
                                                       std::string_view actor) {
  if (!valid_state(u.state) || !valid_step(u.step) || u.file_index < 0 || u.file_count < 0 ||
      u.attempts < 0 || u.restarts < 0) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    auto locked = tx.exec_params(
        "SELECT lease_owner, state, case_id, environment, report_id,"
        " (SELECT count(*) FROM report_jobs k WHERE k.case_id = j.case_id AND k.state = 'finished')"
        " FROM report_jobs j WHERE id = $1 FOR UPDATE",
        job_id);
    if (locked.empty())
      throw abort_with{errc::not_found, "no report job " + std::to_string(job_id)};
    // Fencing: a runner whose lease another runner took over writes nothing.
    if (locked[0][0].is_null() || locked[0][0].as<std::string>() != owner ||
        locked[0][1].as<std::string>() != "queued") {
      throw abort_with{errc::conflict,
                       "report job " + std::to_string(job_id) + " is not leased to this runner"};
    }
    const auto case_id = locked[0][2].as<std::int64_t>();
    const auto environment = locked[0][3].as<std::string>();
    const auto old_report = opt_text(locked[0][4]);
    if (u.state == "finished" && locked[0][5].as<std::int64_t>() > 0) {
      throw abort_with{errc::conflict,
                       "case " + std::to_string(case_id) + " already has a finished report job"};
    }
    tx.exec_params0(
        "INSERT INTO report_receipts (job_id, environment, step, file_index, attempt, method, url,"
        " request_body, http_status, response_code, response_body, error)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        job_id, environment, receipt.step, receipt.file_index, receipt.attempt, receipt.method,
        receipt.url, receipt.request_body, receipt.http_status, receipt.response_code,
        receipt.response_body, receipt.error);
    // A new reportId (re)opens the report: its deadline counts from now.
    const bool opened = u.report_id.has_value() && u.report_id != old_report;
    tx.exec_params0(
        "UPDATE report_jobs SET state = $2, step = $3, file_index = $4, file_count = $5,"
        " report_id = $6, file_ids = ARRAY(SELECT json_array_elements_text($7::json)),"
        " attempts = $8, restarts = $9, last_error = $10, updated_at = now(),"
        " next_attempt_at = now() + $11 * interval '1 millisecond',"
        " lease_until = CASE WHEN $2 = 'queued' THEN now() + $12 * interval '1 millisecond' END,"
        " lease_owner = CASE WHEN $2 = 'queued' THEN lease_owner END,"
        " opened_at = CASE WHEN $13 THEN now() WHEN $6::text IS NULL THEN NULL ELSE opened_at END,"
        " open_deadline = CASE WHEN $13 THEN now() + $14 * interval '1 hour'"
        "                      WHEN $6::text IS NULL THEN NULL ELSE open_deadline END,"
        " finished_at = CASE WHEN $2 = 'finished' THEN now() END"
        " WHERE id = $1",
        job_id, u.state, u.step, u.file_index, u.file_count, u.report_id, text_array(u.file_ids),
        u.attempts, u.restarts, u.last_error, static_cast<std::int64_t>(u.retry_after.count()),
        static_cast<std::int64_t>(lease.count()), opened,
        static_cast<int>(open_report_deadline.count()));
    if (u.state == "finished") {
      if (!u.report_id) throw abort_with{errc::invalid_argument, "a finished job has a reportId"};
      report_input r;
      r.case_id = case_id;
      r.report_id = *u.report_id;
      r.file_ids = u.file_ids;
      r.finished_us = now_us();
      r.submitted_us = tx.exec_params1(
                             "SELECT (extract(epoch FROM opened_at) * 1000000)::bigint"
                             " FROM report_jobs WHERE id = $1",
                             job_id)[0]
                           .as<std::int64_t>();
      r.environment = environment;
      r.responses = "report job " + std::to_string(job_id) + " (receipts in report_receipts)";
      (void)detail::insert_report(tx, r, preserve_days_, actor);
    }
    report_job j = select_job(tx, job_id);
    tx.commit();
    return j;
  });
}

core::result<std::vector<report_receipt>> report_job_store::receipts(std::int64_t job_id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    std::vector<report_receipt> out;
    for (const auto& row :
         tx.exec_params("SELECT step, file_index, attempt, method, url, request_body, http_status,"
                        " response_code, response_body, error, " +
                            detail::iso_of("recorded_at") +
                            " FROM report_receipts WHERE job_id = $1 ORDER BY id",
                        job_id)) {
      report_receipt r;
      r.step = row[0].as<std::string>();
      if (!row[1].is_null()) r.file_index = row[1].as<int>();
      r.attempt = row[2].as<int>();
      r.method = row[3].as<std::string>();
      r.url = row[4].as<std::string>();
      r.request_body = row[5].as<std::string>();
      if (!row[6].is_null()) r.http_status = row[6].as<int>();
      if (!row[7].is_null()) r.response_code = row[7].as<int>();
      r.response_body = row[8].as<std::string>();
      r.error = opt_text(row[9]);
      r.recorded_at = row[10].as<std::string>();
      out.push_back(std::move(r));
    }
    return out;
  });
}

}  // namespace hashguard::hashdb
