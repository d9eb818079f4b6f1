// Compliance exports over the case store (DESIGN.md sections 1 and 5): cases and events as CSV
// or JSON for a date range, an aggregate of counts per period and list, and the per-case
// CyberTipline-style package (report.xml + one fileDetails XML per file, in the element order
// of the CyberTipline schema as /work/shared/cybertipline.md gives it).
//
// Two layers:
//  - pure generators (the writers and cybertipline_documents): records in, bytes out to a sink,
//    no database; tests feed them records directly.
//  - `exporter`: fetches the records page by page (memory stays bounded however large the
//    range), feeds the generators, hashes the bytes as they are produced, and when the stream
//    is complete appends a custody record to the audit log: action "export", subject
//    "export:<what>" or "case:<id>", detail {what, format, from, to, items, bytes, sha256}, the
//    actor given and the audit row's time.
//
// CSV: RFC 4180 (CRLF line ends, a field with a comma, quote, CR or LF is quoted and its quotes
// doubled) and safe to open in a spreadsheet: a field starting with = + - @ (or a tab or CR) is
// prefixed with a single quote so it is never read as a formula.
// XML: UTF-8; text and attribute values escaped (& < > " '); characters XML 1.0 forbids (C0
// controls other than tab, LF, CR) are dropped.
// Sinks are called from the calling thread; a sink that throws aborts the export (errc::
// io_error, nothing is recorded in the audit log).
#pragma once

#include "hashguard/core/config.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/case_queries.hpp"
#include "hashguard/hashdb/database.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hashguard::hashdb {

/// Receives the export's bytes in order, in chunks of any size.
using export_sink = std::function<void(std::string_view chunk)>;

enum class export_format : std::uint8_t { csv, json };
[[nodiscard]] std::string_view to_string(export_format f) noexcept;
[[nodiscard]] std::optional<export_format> parse_export_format(std::string_view text) noexcept;

/// A half-open time range in microseconds since the Unix epoch: from <= t < to.
struct export_range {
  std::int64_t from_us{};
  std::int64_t to_us{};
};

/// One CSV field, quoted when needed, formula-safe (see above).
[[nodiscard]] std::string export_csv_field(std::string_view value);
/// XML text / attribute escaping (see above).
[[nodiscard]] std::string xml_escape(std::string_view value);

/// What the record writers share: the format, the sink, the CSV header (written on
/// construction) and the JSON array framing. finish() closes the document (the JSON array; a
/// CSV with no rows still has its header). Each record's fields are listed once and feed both
/// formats, so a CSV column and its JSON key always carry the same value (nulls are empty
/// cells, booleans true/false).
class record_writer {
 public:
  void finish();
  [[nodiscard]] std::uint64_t items() const noexcept { return items_; }

 protected:
  record_writer(export_format f, export_sink sink, const std::vector<std::string>& csv_columns);
  void emit_csv(const std::vector<std::string>& cells);
  void emit_json(std::string_view object);  ///< one serialized object of the array

  export_format format_;
  export_sink sink_;
  std::uint64_t items_{};
};

/// Cases, one row (CSV) or object (JSON) each. CSV columns: see cases_csv_columns() (the
/// shared fields, then the file count and ';'-joined list entries, report ids, decisions and
/// SHA-256s). JSON: the shared fields plus details_purged, list_entries (with list names and
/// external ids), files (each with its capped urls, urls_total and first_url), decisions and
/// reports in full. A case's events are never read (they are the events export's).
class cases_writer : public record_writer {
 public:
  cases_writer(export_format f, export_sink sink);
  void add(const case_detail& c);
};
[[nodiscard]] const std::vector<std::string>& cases_csv_columns();

/// Events: CSV has one row per (event, hit), the event's fields repeated; see
/// events_csv_columns(). JSON: an array of event objects with their hits nested.
class events_writer : public record_writer {
 public:
  events_writer(export_format f, export_sink sink);
  void add(const event_record& e);
};
[[nodiscard]] const std::vector<std::string>& events_csv_columns();

/// One row of the aggregate: what happened in one period for one list.
struct aggregate_row {
  std::string period;  ///< the period's first day, YYYY-MM-DD (UTC)
  std::int64_t list_id{};
  std::string list_name;
  std::int64_t matches{};          ///< events with a hit on the list
  std::int64_t reports{};          ///< CyberTipline submissions for cases covering the list
  std::int64_t false_positives{};  ///< false-positive decisions on cases covering the list
};
/// Columns / keys: period, list_id, list_name, matches, reports, false_positives.
class aggregate_writer : public record_writer {
 public:
  aggregate_writer(export_format f, export_sink sink);
  void add(const aggregate_row& r);
};

/// Audit rows, oldest first. Columns / keys: id, at, actor, action, subject, detail, row_hash.
class audit_writer : public record_writer {
 public:
  audit_writer(export_format f, export_sink sink);
  void add(const audit_entry& e);
};

/// The reporting person of report.xml (config report.person.*): the provider's contact.
struct reporting_person {
  std::string first_name;
  std::string last_name;
  std::string email;  ///< omitted when empty
  std::string phone;  ///< omitted when empty
};

struct package_options {
  reporting_person person;
  /// incidentSummary/incidentType (the schema's enumeration).
  std::string incident_type{"Child Pornography (possession, manufacture, and distribution)"};

  /// fileDetails/publiclyAvailable: content reaching hashguard was served from a public URL
  /// through the caching layer, so true unless the deployment says otherwise.
  bool publicly_available{true};

  /// fileDetails/industryClassification is written only for signatories of the industry
  /// hash-sharing MOU (reporting.hash_sharing_signatory, default false), whatever the case says.
  bool hash_sharing_signatory{false};

  /// Appended to report.xml's additionalInfo when set (a filing without files says so here).
  std::string report_note;
};

/// report.person.first_name / last_name / email / phone, report.publicly_available,
/// reporting.hash_sharing_signatory: the reporter block of report.xml and what fileDetails
/// may claim, for `hashguard serve` and `hashguard export` alike.
void declare_report_config(core::config& cfg);
[[nodiscard]] package_options package_options_from(const core::config& cfg);

/// One named document of a package.
struct package_document {
  std::string name;  ///< "report.xml", "fileDetails-1.xml", ...
  std::string content;
};

/// report.xml and one fileDetails-N.xml per file of the case (N from 1, files in first-seen
/// order). Built from the case's aggregates, never from its events, so a case of any number of
/// sightings gives a package of bounded size: report.xml lists each file's kept URLs
/// (urls_per_file, the most recently seen) once each, and says "K of N distinct URLs listed"
/// when a file has more; a fileDetails' locationOfFile is the file's first URL, and its
/// additionalInfo the file's distinct matches (matches_per_file, most frequent first, each with
/// its sighting count, and how many there are when more) then its sightings, first and last
/// seen and distinct URL count. reportId / fileId are written when a submission was recorded (the
/// newest production submission, else the newest test one; the N-th fileId of its list belongs to
/// the N-th file) and left out otherwise. industryClassification is written when the case has
/// one.
[[nodiscard]] std::vector<package_document> cybertipline_documents(const case_detail& c,
                                                                   const package_options& o);

/// The report.xml of cybertipline_documents alone (what a filing job submits).
[[nodiscard]] std::string cybertipline_report_xml(const case_detail& c, const package_options& o);
/// The fileDetails of the case's file `index` (0-based, c.files order) for a filing job: with
/// the reportId and fileId NCMEC gave (`ids`: report id, file id), else without either.
[[nodiscard]] std::string cybertipline_file_details(
    const case_detail& c, std::size_t index, const package_options& o,
    const std::optional<std::pair<std::string, std::string>>& ids);

/// Writes documents as a POSIX ustar archive (each file 0644, mtime `mtime_s`), followed by a
/// manifest.json listing each document's name, size and SHA-256.
void write_tar_package(const std::vector<package_document>& docs, std::int64_t mtime_s,
                       const export_sink& sink);

/// What an export produced, as recorded in the audit log.
struct export_receipt {
  std::string what;  ///< "cases", "events", "aggregate", "cybertipline"
  std::uint64_t items{};
  std::uint64_t bytes{};
  std::string sha256;  ///< hex SHA-256 of every byte sent to the sink
  std::int64_t audit_id{};
};

/// Fetches and streams. Borrows a connection (one per thread).
class exporter {
 public:
  explicit exporter(connection& c) noexcept : conn_(c) {}

  /// Cases whose last sighting falls in the range (ordered by id).
  [[nodiscard]] core::result<export_receipt> cases(const export_range& r, export_format f,
                                                   const export_sink& sink, std::string_view actor);
  /// Events that occurred in the range (ordered by time, then id).
  [[nodiscard]] core::result<export_receipt> events(const export_range& r, export_format f,
                                                    const export_sink& sink,
                                                    std::string_view actor);
  /// Counts per period ("day", "week" or "month"; weeks start on Monday) and list over the
  /// range. errc::invalid_argument for another period.
  [[nodiscard]] core::result<export_receipt> aggregate(const export_range& r,
                                                       std::string_view period, export_format f,
                                                       const export_sink& sink,
                                                       std::string_view actor);
  /// The audit rows the filter selects, oldest first (paged by id in one snapshot). Its own
  /// custody row (subject "export:audit") is appended after the rows it exported.
  [[nodiscard]] core::result<export_receipt> audit(const audit_filter& filter, export_format f,
                                                   const export_sink& sink, std::string_view actor);
  /// The CyberTipline-style package of one case as a tar archive (write_tar_package), or with
  /// `only` set, that one document alone (errc::not_found when the case has no such document).
  [[nodiscard]] core::result<export_receipt> cybertipline(std::int64_t case_id,
                                                          const package_options& o,
                                                          const export_sink& sink,
                                                          std::string_view actor,
                                                          std::optional<std::string> only = {});
  /// The case as the package is built from it (files with their distinct matches, no events).
  [[nodiscard]] core::result<case_detail> package_case(std::int64_t case_id);

 private:
  connection& conn_;
};

}  // namespace hashguard::hashdb
