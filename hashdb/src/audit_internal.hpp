// Appending an audit row inside a caller's transaction (so a decision and its audit row commit
// together). Private to hashdb.
#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <string_view>

namespace hashguard::hashdb::detail {

std::int64_t audit_append(pqxx::transaction_base& tx, std::string_view actor,
                          std::string_view action, std::string_view subject,
                          std::string_view detail);

}  // namespace hashguard::hashdb::detail
