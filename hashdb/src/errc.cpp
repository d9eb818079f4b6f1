#include "hashguard/hashdb/errc.hpp"

namespace hashguard::hashdb {
namespace {

struct entry {
  errc code;
  const char* name;
  const char* message;
};

constexpr entry entries[] = {
    {errc::unavailable, "database_unavailable", "the database is unreachable"},
    {errc::query_failed, "db_query_failed", "the database rejected a statement"},
    {errc::not_found, "not_found", "no such object"},
    {errc::already_exists, "already_exists", "the name or value is already taken"},
    {errc::invalid_argument, "invalid_argument", "a value is outside its domain"},
    {errc::conflict, "conflict", "the request contradicts the current state"},
    {errc::schema_too_new, "schema_too_new", "the database schema is newer than this binary knows"},
    {errc::server_failed, "db_server_failed", "the embedded PostgreSQL server failed"},
    {errc::io_error, "io_error", "a local file could not be read or written"},
    {errc::spool_corrupt, "spool_corrupt", "a spool record failed its checksum"},
    {errc::deadline, "commit_deadline", "the commit deadline passed"},
    {errc::purge_refused, "purge_refused",
     "the case is on legal hold or its retention has not expired"},
    {errc::unknown_format, "unknown_format", "the list format is unknown or undetectable"},
    {errc::in_doubt, "commit_in_doubt", "the connection broke during commit"},
    {errc::integrity, "integrity", "sealed evidence failed authentication"},
    {errc::audit_key_missing, "audit_key_missing",
     "no audit key on this connection: audit rows cannot be appended"},
    {errc::audit_head_behind, "audit_head_behind",
     "the audit log no longer reaches the head published before (rows removed or rewritten)"},
    {errc::case_locked, "case_locked", "the case is decided: only a reopen changes it"},
    {errc::evidence_not_viewed, "evidence_not_viewed",
     "dismissing needs every preserved file of the case revealed to you first"},
    {errc::suppression_refused, "suppression_refused",
     "suppression is refused for exact-digest hits and for content another case confirmed"},
    {errc::not_confirmed, "not_confirmed", "only a confirmed case can be reported"},
    {errc::harm_type_refused, "harm_type_refused",
     "only a csam case carries an A1-B2 classification or goes to the CyberTipline"},
    {errc::classification_required, "classification_required",
     "confirming a csam case needs a classification: A1, A2, B1 or B2"},
    {errc::job_exists, "job_exists", "the case already has a queued or finished filing job"},
    {errc::report_recorded, "report_recorded",
     "a production CyberTipline report is already recorded for the case"},
    {errc::no_evidence, "no_evidence",
     "the case has no preserved evidence and reporting.allow_no_files is off"},
};

const entry* find(int code) {
  for (const entry& e : entries) {
    if (static_cast<int>(e.code) == code) return &e;
  }
  return nullptr;
}

class category_impl final : public core::named_category {
 public:
  const char* name() const noexcept override { return "hashguard.hashdb"; }
  std::string message(int code) const override {
    const entry* e = find(code);
    return e != nullptr ? e->message : "unknown hashdb error";
  }
  const char* code_name(int code) const noexcept override {
    const entry* e = find(code);
    return e != nullptr ? e->name : "unknown";
  }
};

}  // namespace

const core::named_category& hashdb_category() noexcept {
  static const category_impl instance;
  return instance;
}

}  // namespace hashguard::hashdb
