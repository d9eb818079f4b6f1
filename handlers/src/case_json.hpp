// Inside handlers/: the JSON shapes of cases (the review queue, one case in full, a recorded
// report) and the reviewer ids decisions are counted by, shared by cases.cpp and the exports.
#pragma once

#include "hashguard/hashdb/case_queries.hpp"
#include "hashguard/hashdb/cases.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hashguard::handlers::detail {

/// One row of the review queue.
[[nodiscard]] boost::json::object summary_json(const hashdb::case_summary& c);
/// Everything one case holds (GET /v1/cases/{id}).
[[nodiscard]] boost::json::object detail_json(const hashdb::case_detail& d);

/// The reviewer id a key id stands for in decisions: the first 48 bits of its digest for "k_"
/// ids (api::key_id_of), so the two-person rule counts distinct keys; other ids (the bootstrap
/// key, config keys) are folded to 47 bits with the top bit set, apart from the hex ids.
[[nodiscard]] std::int64_t reviewer_id_of(std::string_view key_id) noexcept;
/// How a reviewer id is shown ("k_" + 12 hex digits).
[[nodiscard]] std::string reviewer_label(std::int64_t id);

}  // namespace hashguard::handlers::detail
