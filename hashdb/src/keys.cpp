#include "hashguard/hashdb/keys.hpp"

#include "crypto.hpp"
#include "pg.hpp"

#include "hashguard/core/hex.hpp"

#include <stdexcept>

namespace hashguard::hashdb {
namespace {

constexpr const char* key_columns =
    "id, name, role, prefix,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " array_to_string(capabilities, ','), array_to_string(lists, ',')";

// Capability names as stored (text[]), one per element; the SQL side joins them with ','.
std::string capability_array(core::capability_set caps) {
  std::string out = "{";
  for (const auto name : core::names_of(caps)) {
    if (out.size() > 1) out += ",";
    out += name;
  }
  return out + "}";
}

core::capability_set parse_capabilities(std::string_view joined) {
  core::capability_set out;
  while (!joined.empty()) {
    const auto comma = joined.find(',');
    if (auto c = core::parse_capability(joined.substr(0, comma))) out.add(*c);
    joined = comma == std::string_view::npos ? std::string_view{} : joined.substr(comma + 1);
  }
  return out;
}

// A list name as hash_lists allows it: [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
bool valid_list_name(std::string_view name) {
  const auto alnum = [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
  };
  if (name.empty() || name.size() > 64 || !alnum(name.front())) return false;
  for (const char ch : name) {
    if (!alnum(ch) && ch != '.' && ch != '_' && ch != '-') return false;
  }
  return true;
}

api_key_info row_to_key(const pqxx::row& r) {
  api_key_info k;
  k.id = r[0].as<std::int64_t>();
  k.name = r[1].as<std::string>();
  k.role = core::parse_role(r[2].as<std::string>()).value_or(core::role::ingest);
  k.prefix = r[3].as<std::string>();
  k.created_at = r[4].as<std::string>();
  k.revoked_at = opt_text(r[5]);
  k.capabilities = parse_capabilities(r[6].as<std::string>());
  // List names never hold a comma ([A-Za-z0-9._-]).
  const std::string joined_text = r[7].as<std::string>();
  std::string_view joined = joined_text;
  while (!joined.empty()) {
    const auto comma = joined.find(',');
    k.lists.emplace_back(joined.substr(0, comma));
    joined = comma == std::string_view::npos ? std::string_view{} : joined.substr(comma + 1);
  }
  return k;
}

void prepare_all(detail::connection_impl& c) {
  const std::string cols = key_columns;
  c.prepare("keys_insert",
            ("INSERT INTO api_keys (name, role, key_sha256, prefix, capabilities, lists)"
             " VALUES ($1, $2, decode($3, 'hex'), $4, $5::text[], $6::text[]) RETURNING " +
             cols)
                .c_str());
  c.prepare("keys_all", ("SELECT " + cols + " FROM api_keys ORDER BY id").c_str());
  c.prepare("keys_revoke",
            ("UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1"
             " RETURNING " +
             cols)
                .c_str());
  c.prepare("keys_live_digests", ("SELECT " + cols +
                                  ", encode(key_sha256, 'hex') FROM api_keys"
                                  " WHERE revoked_at IS NULL ORDER BY id")
                                     .c_str());
  c.prepare("keys_by_digest",
            ("SELECT " + cols +
             " FROM api_keys WHERE key_sha256 = decode($1, 'hex') AND revoked_at IS NULL")
                .c_str());
}

}  // namespace

std::string key_digest(std::string_view secret) {
  return core::to_hex(detail::sha256(secret));
}

std::string generate_key_secret() {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::uint8_t bytes[33]{};  // 32 random bytes; the 33rd pads the last 6-bit group
  if (!detail::random_bytes(bytes, 32)) throw std::runtime_error("RAND_bytes failed");
  std::string out = "hg_";
  // base64url without padding: 32 bytes -> 43 characters.
  for (std::size_t bit = 0; bit < 32 * 8; bit += 6) {
    const std::size_t byte = bit / 8;
    const unsigned shift = static_cast<unsigned>(bit % 8);
    const unsigned window = (static_cast<unsigned>(bytes[byte]) << 8) | bytes[byte + 1];
    out.push_back(alphabet[(window >> (10 - shift)) & 63U]);
  }
  return out;
}

core::result<new_api_key> key_store::create(std::string_view name, core::role role,
                                            core::capability_set capabilities,
                                            std::vector<std::string> lists) {
  if (name.empty() || name.size() > 128) return errc::invalid_argument;
  if ((role == core::role::exchange) != !lists.empty()) return errc::invalid_argument;
  std::string list_array = "{";
  for (const auto& l : lists) {
    if (!valid_list_name(l)) return errc::invalid_argument;
    if (list_array.size() > 1) list_array += ",";
    list_array += l;
  }
  list_array += "}";
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    new_api_key out;
    out.secret = generate_key_secret();
    pqxx::work tx(pc);
    out.info = row_to_key(tx.exec_prepared1("keys_insert", std::string(name),
                                            std::string(core::to_string(role)),
                                            key_digest(out.secret), out.secret.substr(0, 11),
                                            capability_array(capabilities), list_array));
    tx.commit();
    return out;
  });
}

core::result<std::vector<api_key_info>> key_store::list() {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    std::vector<api_key_info> out;
    for (const auto& row : tx.exec_prepared("keys_all")) out.push_back(row_to_key(row));
    return out;
  });
}

core::result<std::vector<std::pair<api_key_info, std::string>>> key_store::live_digests() {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    std::vector<std::pair<api_key_info, std::string>> out;
    for (const auto& row : tx.exec_prepared("keys_live_digests")) {
      out.emplace_back(row_to_key(row), row[8].as<std::string>());
    }
    return out;
  });
}

core::result<api_key_info> key_store::revoke(std::int64_t id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    auto r = tx.exec_prepared("keys_revoke", id);
    if (r.empty()) throw abort_with{errc::not_found, "no key with id " + std::to_string(id)};
    tx.commit();
    return row_to_key(r[0]);
  });
}

core::result<api_key_info> key_store::authenticate(std::string_view secret) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    auto r = tx.exec_prepared("keys_by_digest", key_digest(secret));
    if (r.empty()) throw abort_with{errc::not_found, "unknown or revoked key"};
    return row_to_key(r[0]);
  });
}

}  // namespace hashguard::hashdb
