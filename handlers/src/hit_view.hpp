// What a caller may see of a hit in an ingest answer (/v1/scan, /v1/match, and any later
// answer that carries hits to an ingest key). An answer with each hit's entry and exact
// distance is an oracle: flipping one bit per query recovers a listed PDQ hash in 256
// queries. So by default a hit is only what the cache layer acts on, an allowlist: the list's
// name, the signal and the action. Everything else (list id, entry, distance, variant, frame,
// and the whole `detail`: orientation, trim, video spans, source ids, whatever later issues
// add) needs the match_details capability, which an admin grants per key (audited). Because
// it is an allowlist, a field added to hits later is hidden by default with no new code.
#pragma once

#include "hashguard/api/http.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace hashguard::handlers::detail {

/// The fields every caller sees.
inline constexpr std::string_view public_hit_fields[] = {"list_name", "signal", "action"};

/// `full` as `caller` may see it: unchanged with match_details, else public_hit_fields only.
[[nodiscard]] boost::json::object visible_hit(boost::json::object full,
                                              const api::auth_context& caller);

/// visible_hit over every hit of an answer.
[[nodiscard]] boost::json::array visible_hits(boost::json::array full,
                                              const api::auth_context& caller);

}  // namespace hashguard::handlers::detail
