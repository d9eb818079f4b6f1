#include "serve_keys.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/keys.hpp"

#include <algorithm>

namespace hashguard::app {

core::result<std::size_t> load_keys(api::key_registry& registry,
                                    const std::vector<api::key_record>& config_keys,
                                    const std::string& database_url) {
  // One connection per load: keys change rarely and the interval is seconds, so holding a
  // connection open between loads would only tie up a server slot.
  auto conn = hashdb::connection::open(database_url);
  if (!conn) return core::result<std::size_t>(boost::system::in_place_error, conn.error());
  hashdb::key_store store(*conn);
  auto live = store.live_digests();
  if (!live) return core::result<std::size_t>(boost::system::in_place_error, live.error());
  std::vector<api::key_record> records = config_keys;
  std::size_t loaded = 0;
  for (const auto& [info, hex] : *live) {
    auto bytes = core::parse_hex_bytes(hex, 32);
    if (!bytes) continue;
    api::key_record r;
    std::copy(bytes->begin(), bytes->end(), r.digest.begin());
    r.key_id = api::key_id_of(r.digest);
    r.role = info.role;
    r.capabilities = info.capabilities;
    r.lists = info.lists;
    records.push_back(std::move(r));
    ++loaded;
  }
  registry.replace(std::move(records));
  return loaded;
}

}  // namespace hashguard::app
