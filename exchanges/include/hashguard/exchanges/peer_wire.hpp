// Another hashguard's list change feed on the wire, as pure functions (no I/O):
//
// GET BASE/v1/lists/LIST/changes?since=CURSOR&limit=N with "Authorization: Bearer KEY" (a key
// of role exchange whose scope names LIST) answers
//   {"list": {"id": 3, "name": "partner-pdq", "signal": "pdq", "version": 41, ...},
//    "changes": [{"entry": 17, "value": "<hex>", "retired": false, "deleted": false,
//                 "external_id": "..", "added_at": "2026-12-07T10:00:00Z",
//                 "provenance": {"exchange": "..", "source_id": "..", "tags": [..],
//                                "opinion": "positive", ...} | null}],
//    "next": "XID.ID", "more": true}
// (handlers/src/list_changes.cpp serves it). Each change is the current state of one entry
// and becomes one source_entry: source_id the peer's entry id, signal the list's, deleted when
// the peer retired or deleted it, tags the peer's provenance tags, opinion where it is one of
// positive / negative / disputed. The checkpoint is the answer's `next` cursor ("" = "0").
#pragma once

#include "hashguard/exchanges/source.hpp"
#include "hashguard/outbound/http_client.hpp"

#include <string>
#include <string_view>

namespace hashguard::exchanges::peer {

/// The GET of one page after `cursor` ("" = from the start).
[[nodiscard]] outbound::request changes_request(std::string_view base_url, std::string_view list,
                                                std::string_view key, std::string_view cursor,
                                                int limit);

/// One answer as a page (checkpoint = `next`, more = `more`). errc::bad_page when it does not
/// parse, lacks a field, has a signal hashguard does not match, or holds an invalid entry.
[[nodiscard]] core::result<page> parse_changes(std::string_view body);

/// The `message` of a hashguard error answer ({"error": {"code", "message"}}); "" otherwise.
[[nodiscard]] std::string error_message(std::string_view body);

}  // namespace hashguard::exchanges::peer
