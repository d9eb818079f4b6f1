// hashdb's private bridge to libpqxx: the connection's state and the one place where pqxx
// exceptions become errc values. Never included by a public header.
#pragma once

#include "hashguard/hashdb/database.hpp"

#include <pqxx/pqxx>

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>

namespace hashguard::hashdb {

/// Thrown inside a guarded block to roll the transaction back with a chosen code.
struct abort_with {
  errc code;
  std::string detail;
};

namespace detail {

struct connection_impl;

/// Ties a pqxx connection to the connection_impl that owns it, so code that only holds a
/// transaction (the audit append inside a decision's transaction) can reach the impl's audit
/// keys: libpqxx 6 connections carry no user data and have no virtual functions, but their
/// error handlers are polymorphic objects registered on them. It passes every notice on.
class owner_tag final : public pqxx::errorhandler {
 public:
  owner_tag(pqxx::connection_base& c, const connection_impl& owner)
      : pqxx::errorhandler(c), owner_(owner) {}
  bool operator()(const char*) noexcept override { return true; }
  [[nodiscard]] const connection_impl& owner() const noexcept { return owner_; }

 private:
  const connection_impl& owner_;
};

/// The connection_impl that opened `c`, or nullptr (a pqxx connection made elsewhere).
inline const connection_impl* owner_of(pqxx::connection_base& c) {
  for (pqxx::errorhandler* h : c.get_errorhandlers()) {
    if (const auto* tag = dynamic_cast<const owner_tag*>(h)) return &tag->owner();
  }
  return nullptr;
}

struct connection_impl {
  std::string url;
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<owner_tag> tag;  // after conn: destroyed (unregistered) before it
  std::unordered_set<std::string> prepared;
  std::string last_error;
  bool broken{false};
  std::shared_ptr<const audit_keyring> audit_keys;

  connection_impl() = default;
  connection_impl(const connection_impl&) = delete;
  connection_impl& operator=(const connection_impl&) = delete;
  ~connection_impl() { tag.reset(); }

  /// The live connection; reconnects when the previous one broke (throws broken_connection).
  pqxx::connection& live() {
    if (!conn || broken) {
      tag.reset();
      conn.reset();
      prepared.clear();
      conn = std::make_unique<pqxx::connection>(url);
      tag = std::make_unique<owner_tag>(*conn, *this);
      broken = false;
    }
    return *conn;
  }

  /// Prepares `name` on this connection the first time it is used; returns the name.
  const std::string& prepare(const std::string& name, const char* sql) {
    if (!prepared.contains(name)) {
      live().prepare(name, sql);
      prepared.insert(name);
    }
    return name;
  }
};

/// SQLSTATE classes that mean "the server went away" rather than "the statement was wrong":
/// 08 connection exception, 57P01..57P03 shutdown / cannot connect now, 53300 too many
/// connections.
inline bool is_unavailable_state(const std::string& state) {
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03" ||
         state == "53300";
}

}  // namespace detail

/// Runs f(pqxx::connection&) and maps every exception to an errc (recording its message).
template <class F>
auto guarded(detail::connection_impl& c, F&& f)
    -> core::result<std::invoke_result_t<F, pqxx::connection&>> {
  using T = std::invoke_result_t<F, pqxx::connection&>;
  using R = core::result<T>;
  // in_place_error: result<bool> would otherwise be ambiguous with an error_code.
  auto fail = [&c](errc code, const char* what) -> R {
    c.last_error = what;
    return R(boost::system::in_place_error, core::error_code(code));
  };
  try {
    if constexpr (std::is_void_v<T>) {
      f(c.live());
      return {};
    } else {
      return f(c.live());
    }
  } catch (const abort_with& a) {
    c.last_error = a.detail;
    return R(boost::system::in_place_error, core::error_code(a.code));
  } catch (const pqxx::in_doubt_error& e) {
    c.broken = true;
    return fail(errc::in_doubt, e.what());
  } catch (const pqxx::broken_connection& e) {
    c.broken = true;
    return fail(errc::unavailable, e.what());
  } catch (const pqxx::unique_violation& e) {
    return fail(errc::already_exists, e.what());
  } catch (const pqxx::check_violation& e) {
    return fail(errc::invalid_argument, e.what());
  } catch (const pqxx::sql_error& e) {
    if (detail::is_unavailable_state(e.sqlstate())) {
      c.broken = true;
      return fail(errc::unavailable, e.what());
    }
    return fail(errc::query_failed, e.what());
  } catch (const pqxx::failure& e) {
    // Other libpq-level failures (a statement on a connection that died mid-way).
    c.broken = true;
    return fail(errc::unavailable, e.what());
  } catch (const std::exception& e) {
    return fail(errc::query_failed, e.what());
  }
}

template <class F>
auto guarded(connection& c, F&& f) {
  return guarded(c.impl(), std::forward<F>(f));
}

/// Optional text of a field (NULL -> nullopt).
inline std::optional<std::string> opt_text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

/// Lowercase hex of a bytea field (NULL -> empty).
std::string bytea_hex(const pqxx::field& f);

}  // namespace hashguard::hashdb
