// Appending an audit row inside a caller's transaction (so a decision and its audit row commit
// together). Private to hashdb. The row is keyed with the audit keys of the hashdb connection
// the transaction runs on; without them it throws abort_with{errc::audit_key_missing}, which
// guarded() turns into that error (and the caller's transaction rolls back).
#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <string_view>

namespace hashguard::hashdb::detail {

std::int64_t audit_append(pqxx::transaction_base& tx, std::string_view actor,
                          std::string_view action, std::string_view subject,
                          std::string_view detail);

}  // namespace hashguard::hashdb::detail
