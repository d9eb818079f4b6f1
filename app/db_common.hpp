// What the database subcommands (db, lists, keys, cases, audit) share: configuration loading,
// the database session (embedded server or URL, migrated), option parsing and error printing.
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/embedded_postgres.hpp"
#include "hashguard/hashdb/settings.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::app {

/// A subcommand's own options: `--name value`, `--name=value`, bare `--flag`.
struct cli_options {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::string error;  ///< set when an option is unknown or lacks its value

  [[nodiscard]] bool has(const std::string& flag) const { return flags.contains(flag); }
  [[nodiscard]] std::optional<std::string> value(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
};

[[nodiscard]] cli_options parse_options(const std::vector<std::string>& args,
                                        std::set<std::string> value_names,
                                        std::set<std::string> flag_names);

/// Loads the configuration (embedded defaults, --config FILE, HG_* environment, --flags) and
/// returns the arguments that are not configuration flags. Prints and returns nullopt on error.
[[nodiscard]] std::optional<std::vector<std::string>> load_config(
    core::config& config, const std::vector<std::string>& args);

/// An open, migrated database: the configured URL, or the embedded server in data.dir (started
/// for the duration of the command unless already running, then left as it was; see
/// embedded_postgres.hpp for who stops it), with the audit keys loaded (a generated key is
/// announced on stderr).
class db_session {
 public:
  /// Prints the reason and returns nullptr when the database cannot be reached or migrated.
  /// `own_embedded`: take ownership of an embedded server found running without an owner
  /// (serve, the one process of the data directory that keeps it running).
  [[nodiscard]] static std::unique_ptr<db_session> open(const core::config& config,
                                                        bool migrate = true,
                                                        bool own_embedded = false);
  db_session() = default;
  db_session(const db_session&) = delete;
  db_session& operator=(const db_session&) = delete;
  /// Closes the connection, then detaches from the embedded server (saying so on stderr when
  /// this process owned it and left it running for the others attached).
  ~db_session();

  hashdb::connection& conn() { return *conn_; }
  [[nodiscard]] const hashdb::settings& settings() const { return settings_; }
  [[nodiscard]] const std::string& url() const { return url_; }
  [[nodiscard]] bool embedded() const { return server_.has_value(); }
  hashdb::embedded_server* server() { return server_ ? &*server_ : nullptr; }
  /// The audit keys conn() appends with (audit.* settings; generated in data.dir when none
  /// is configured); hand them to every other connection that appends audit rows.
  [[nodiscard]] const std::shared_ptr<const hashdb::audit_keyring>& audit_keys() const {
    return audit_keys_;
  }
  /// "cli:USER": who the audit log names for CLI actions.
  [[nodiscard]] std::string actor() const;
  /// Appends an audit row; prints a warning when it cannot.
  void audit(std::string_view action, std::string_view subject, std::string_view detail);

 private:
  hashdb::settings settings_;
  std::string url_;
  std::optional<hashdb::embedded_server> server_;
  std::optional<hashdb::connection> conn_;
  std::shared_ptr<const hashdb::audit_keyring> audit_keys_;
};

/// Prints "hashguard CMD: WHAT: code (message) DETAIL" to stderr.
void print_error(std::string_view command, std::string_view what, const core::error_code& ec,
                 std::string_view detail = {});

/// JSON string literal of `s`.
[[nodiscard]] std::string json_quote(std::string_view s);

}  // namespace hashguard::app
