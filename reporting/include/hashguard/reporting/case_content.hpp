// What serve's filing jobs send for a case (reporting::content_source over PostgreSQL): the
// <report> and each file's <fileDetails> from hashdb's one package builder (export.hpp), and the
// case's preserved evidence as the files.
//
//  - Files: the case's files that have preserved evidence, in the case's file order. Their bytes
//    are decrypted only at their upload step (report_content::file::load), audited as
//    `evidence.report_upload` (never marks a file viewed), and dropped after the upload. Their
//    hashes in <fileDetails> are those of the bytes as received (case_files).
//  - A case sent with fewer files than it has (no preserved copy, or preservation off) says so
//    in report.xml's additionalInfo; whether such a filing may start at all is the job's
//    creation's business (reporting.allow_no_files).
//  - The case is read again at every step (never cached), so the document a retry sends is the
//    one the case gives now; the runner retracts an open report whose file count changed.
//
// Thread-safety: the source uses the borrowed connection; call it from the runner's thread.
#pragma once

#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/evidence.hpp"
#include "hashguard/hashdb/export.hpp"
#include "hashguard/reporting/job_runner.hpp"

#include <optional>
#include <string>

namespace hashguard::reporting {

struct case_content_options {
  hashdb::package_options package;               ///< reporter block, signatory flag
  std::optional<hashdb::evidence_key> evidence;  ///< none: preservation is off, no files
  std::string actor{"system:report_job"};        ///< audit actor of the uploads' reveals
};

/// The content source over `conn` (borrowed; must outlive the source).
[[nodiscard]] content_source case_content(hashdb::connection& conn, case_content_options o);

/// The name a case file is uploaded under: its content key (hex) and ".bin".
[[nodiscard]] std::string upload_name(const hashdb::file_record& f);

}  // namespace hashguard::reporting
