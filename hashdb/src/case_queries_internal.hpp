// The case queries shared by review.cpp, export.cpp and evidence.cpp. Private to hashdb.
#pragma once

#include "case_rows.hpp"
#include "hashguard/hashdb/case_queries.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <string>
#include <vector>

namespace hashguard::hashdb::detail {

/// The columns event_from_row reads, for a query over `events e`; a query may select more
/// after them, from position event_column_count on.
std::string event_select_columns();
inline constexpr int event_column_count = 20;
event_record event_from_row(const pqxx::row& r);
/// Fills each event's hits (list names and external ids joined in).
void attach_hits(pqxx::transaction_base& tx, std::vector<event_record>& events);
/// "a,b,c" -> {"a","b","c"} (empty parts dropped).
std::vector<std::string> split_ids(const std::string& joined);
/// What load_case reads besides the case, its files (with their URL aggregates), entries,
/// decisions and reports.
struct detail_options {
  event_page events;         ///< limit 0: the total only
  bool file_matches{false};  ///< each file's distinct hits (a join over every hit of the case)
  bool uploaders{false};     ///< the uploaders its events named (case_detail::uploaders)
};
/// One case; throws abort_with{not_found} when absent, abort_with{invalid_argument} for a bad
/// page (see review_store::detail).
case_detail load_case(pqxx::transaction_base& tx, std::int64_t case_id, const detail_options& o);

}  // namespace hashguard::hashdb::detail
