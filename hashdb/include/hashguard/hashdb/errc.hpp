// hashdb's error codes. Every libpqxx exception is caught inside the module and becomes one
// of these (src/pg.hpp); callers never see a pqxx type. The stable names are the `code` the
// api and the CLI print.
#pragma once

#include "hashguard/core/error.hpp"

namespace hashguard::hashdb {

enum class errc {
  unavailable = 1,   ///< cannot connect to PostgreSQL, or the connection broke
  query_failed,      ///< the server rejected a statement (a bug or a schema mismatch)
  not_found,         ///< no such list, key, case or row
  already_exists,    ///< a unique name or value is taken
  invalid_argument,  ///< a value outside its domain (name, threshold, action, role...)
  conflict,  ///< the request contradicts the current state (retired list, same reviewer twice)
  schema_too_new,       ///< the database has migrations this binary does not know
  server_failed,        ///< the embedded PostgreSQL could not be initialised, started or stopped
  io_error,             ///< a local file (spool, export, import) could not be read or written
  spool_corrupt,        ///< a spool record failed its length or checksum check
  deadline,             ///< the commit deadline passed before the database answered
  purge_refused,        ///< the case is on legal hold or its retention has not expired
  unknown_format,       ///< an import whose format is neither named nor detectable
  in_doubt,             ///< the connection broke during COMMIT: the outcome is unknown
  integrity,            ///< sealed evidence failed authentication (tampered, or the wrong key)
  case_locked,          ///< the case is decided (or reported): only a reopen changes it
  evidence_not_viewed,  ///< a dismissal by a reviewer who never revealed the case's evidence
  suppression_refused,  ///< exact-digest hits, or content another case confirmed
  not_confirmed,        ///< a report on a case that is not confirmed
  audit_key_missing,    ///< an audit row was to be appended on a connection without audit keys
  audit_head_behind,    ///< the audit log no longer reaches the head published before
  harm_type_refused,    ///< a classification or a report on a case that is not csam
  classification_required,  ///< confirming a csam case without an A1-B2 classification
  job_exists,               ///< the case has a queued or finished CyberTipline filing job
  report_recorded,          ///< a production CyberTipline report is already recorded for the case
  no_evidence,  ///< a filing without preserved evidence while reporting.allow_no_files is off
};

const core::named_category& hashdb_category() noexcept;
HG_DECLARE_ERRC(errc, hashdb_category)

}  // namespace hashguard::hashdb

HG_REGISTER_ERRC(hashguard::hashdb::errc)
