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
inline constexpr int event_column_count = 17;
event_record event_from_row(const pqxx::row& r);
/// Fills each event's hits (list names and external ids joined in).
void attach_hits(pqxx::transaction_base& tx, std::vector<event_record>& events);
/// "a,b,c" -> {"a","b","c"} (empty parts dropped).
std::vector<std::string> split_ids(const std::string& joined);
/// Everything of one case; throws abort_with{not_found} when absent.
case_detail load_case(pqxx::transaction_base& tx, std::int64_t case_id);

}  // namespace hashguard::hashdb::detail
