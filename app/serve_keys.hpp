// Feeds the server's in-memory key registry from hashdb's key store: the config keys
// (auth.keys, the bootstrap admin key) plus every unrevoked key created with `hashguard keys`.
// serve runs load_keys as a periodic task (serve_tasks.hpp: once before it listens, then every
// auth.refresh_ms), so authentication never waits on the database and a revoked key stops
// working within one interval.
#pragma once
#include "hashguard/api/auth.hpp"
#include "hashguard/core/error.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace hashguard::app {

/// Replaces the registry's keys with `config_keys` plus the database's live keys (one swap) and
/// returns how many came from the database. Opens a connection for the call and closes it.
/// Errors: the database's (errc::unavailable...); the registry is then unchanged, so while the
/// database is down the last loaded set stays in force (serve_tasks seeds the registry with
/// the config keys first, so they work even when the first load fails).
[[nodiscard]] core::result<std::size_t> load_keys(api::key_registry& registry,
                                                  const std::vector<api::key_record>& config_keys,
                                                  const std::string& database_url);

}  // namespace hashguard::app
