#include "hashguard/hashdb/database.hpp"

#include "pg.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <memory>

namespace hashguard::hashdb {

std::string bytea_hex(const pqxx::field& f) {
  if (f.is_null()) return {};
  // PostgreSQL's default bytea_output is hex: "\x0a1b..."
  std::string text = f.c_str();
  if (text.size() >= 2 && text[0] == '\\' && text[1] == 'x') return text.substr(2);
  pqxx::binarystring bytes(f);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes.data()[i]);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::string redact_url(std::string_view url) {
  // libpq's own parser, so every form it accepts (URI user:password@, ?password=, key=value
  // with quoting) is read the way the connection will read it.
  char* why = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(std::string(url).c_str(), &why), &PQconninfoFree);
  if (why != nullptr) PQfreemem(why);  // its text may quote the secret
  if (!options) return "(a connection string libpq cannot parse)";
  const auto secret = [](std::string_view keyword) {
    return keyword == "password" || keyword == "sslpassword";
  };
  bool holds_secret = false;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val != nullptr && secret(o->keyword)) holds_secret = true;
  }
  if (!holds_secret) return std::string(url);
  std::string out;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string value = secret(o->keyword) ? "***" : o->val;
    if (value.empty() || value.find_first_of(" '\\") != std::string::npos) {
      std::string quoted = "'";
      for (const char c : value) {
        if (c == '\'' || c == '\\') quoted.push_back('\\');
        quoted.push_back(c);
      }
      value = quoted + "'";
    }
    if (!out.empty()) out.push_back(' ');
    out += std::string(o->keyword) + "=" + value;
  }
  return out;
}

connection::connection(std::unique_ptr<detail::connection_impl> impl) : impl_(std::move(impl)) {}
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;
connection::~connection() = default;

core::result<connection> connection::open(const std::string& url, std::string* error_detail) {
  auto impl = std::make_unique<detail::connection_impl>();
  impl->url = url;
  auto r = guarded(*impl, [](pqxx::connection&) {});
  if (!r) {
    if (error_detail != nullptr) *error_detail = impl->last_error;
    return r.error();
  }
  return connection(std::move(impl));
}

const std::string& connection::url() const noexcept {
  return impl_->url;
}
const std::string& connection::last_error() const noexcept {
  return impl_->last_error;
}

void connection::use_audit_keys(std::shared_ptr<const audit_keyring> keys) noexcept {
  impl_->audit_keys = std::move(keys);
}
const std::shared_ptr<const audit_keyring>& connection::audit_keys() const noexcept {
  return impl_->audit_keys;
}

core::result<void> connection::ping() {
  return guarded(*impl_, [](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec1("SELECT 1");
  });
}

core::result<void> connection::reconnect() {
  impl_->broken = true;
  return ping();
}

std::string url_with_database(std::string_view url, std::string_view database) {
  // postgresql://[userinfo@][host][:port][/dbname][?params]
  const auto scheme = url.find("://");
  const std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const auto query = url.find('?', start);
  const std::string_view head = url.substr(0, query);
  const std::string_view tail = query == std::string_view::npos ? "" : url.substr(query);
  const auto slash = head.find('/', start);
  std::string out(slash == std::string_view::npos ? head : head.substr(0, slash));
  out += '/';
  out += database;
  out += tail;
  return out;
}

namespace {

bool valid_database_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (!(std::islower(c) || std::isdigit(c) || ch == '_')) return false;
  }
  return true;
}

}  // namespace

core::result<void> create_database(const std::string& server_url, std::string_view name) {
  if (!valid_database_name(name)) return errc::invalid_argument;
  auto c = connection::open(server_url);
  if (!c) return c.error();
  return guarded(*c, [&](pqxx::connection& pc) {
    pqxx::nontransaction tx(pc);
    const auto exists =
        tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", std::string(name));
    if (!exists.empty()) return;
    try {
      tx.exec0("CREATE DATABASE " + std::string(name));
    } catch (const pqxx::sql_error& e) {
      // 42P04 duplicate_database: another process created it between the check and here.
      if (e.sqlstate() != "42P04") throw;
    }
  });
}

core::result<void> drop_database(const std::string& server_url, std::string_view name) {
  if (!valid_database_name(name)) return errc::invalid_argument;
  auto c = connection::open(server_url);
  if (!c) return c.error();
  return guarded(*c, [&](pqxx::connection& pc) {
    pqxx::nontransaction tx(pc);
    tx.exec0("DROP DATABASE IF EXISTS " + std::string(name) + " WITH (FORCE)");
  });
}

}  // namespace hashguard::hashdb
