// Appending an audit row inside a caller's transaction (so a decision and its audit row commit
// together). Private to hashdb. The row is keyed with the audit keys of the hashdb connection
// the transaction runs on; without them it throws abort_with{errc::audit_key_missing}, which
// guarded() turns into that error (and the caller's transaction rolls back).
#pragma once

#include <pqxx/pqxx>

#include "hashguard/hashdb/audit.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace hashguard::hashdb::detail {

std::int64_t audit_append(pqxx::transaction_base& tx, std::string_view actor,
                          std::string_view action, std::string_view subject,
                          std::string_view detail);

/// The rule for a reason an admin or reviewer gives for an audited change (a reopen, an entry
/// disabled, quarantined or restored): not blank, at most 10,000 bytes.
inline bool valid_audit_reason(std::string_view reason) noexcept {
  return reason.find_first_not_of(" \t\r\n") != std::string_view::npos && reason.size() <= 10000;
}

/// The WHERE condition of an audit_filter over `audit_log a`, its parameters from $first on in
/// the order audit_filter_params() gives them (actor, action, action prefix, subject, from, to).
std::string audit_filter_sql(int first);
struct audit_filter_values {
  std::optional<std::string> actor, action, prefix, subject;
  std::optional<std::int64_t> from_us, to_us;
};
audit_filter_values audit_filter_params(const audit_filter& f);

}  // namespace hashguard::hashdb::detail
