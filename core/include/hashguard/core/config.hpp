// Configuration primitives.
//
// A config is a set of declared keys, each with a type, a default (the defaults in code are
// the embedded defaults: the service runs on them with no file, no environment, no flags) and
// a help text. Overrides apply in this order, later winning:
//   defaults < file ("key = value" lines, '#' comments) < HG_* environment < --flags.
// Names: key "http.read_timeout_ms" is env HG_HTTP_READ_TIMEOUT_MS and flag
// --http-read-timeout-ms (or --http.read_timeout_ms); matching ignores case and treats '.', '-'
// and '_' alike. Secrets are redacted by describe().
//
// Every secret key K also gets a companion K_file (declared with it: env HG_K_FILE, flag
// --K_file): a path whose contents become K's value when resolve_secret_files() runs, so no
// secret need appear on a command line, in the environment or in a config file (a Kubernetes
// or Docker secret is mounted as a file). A module declaring a new secret gets its _file
// variant with no code of its own.
//
// Not thread-safe for writes; build it at start-up, then read it from any thread.
#pragma once

#include "hashguard/core/errc.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::core {

enum class config_type : std::uint8_t { string, integer, boolean, secret };
enum class config_source : std::uint8_t { defaults, file, environment, flag };

struct config_entry {
  std::string key;
  config_type type{config_type::string};
  std::string value;
  std::string help;
  config_source source{config_source::defaults};
};

class config {
 public:
  /// Declares a key with its default. Declaring a key twice replaces the first declaration.
  /// A secret key also declares "<key>_file" (a string: the path of a file holding it).
  void declare(std::string_view key, config_type type, std::string_view default_value,
               std::string_view help);

  /// Reads "key = value" lines. Unknown keys and malformed lines are errors
  /// (errc::config_file / config_unknown_key / config_bad_value).
  [[nodiscard]] result<void> load_file(const std::string& path);
  /// Parses file text directly (load_file's core; also for tests).
  [[nodiscard]] result<void> load_text(std::string_view text, std::string_view origin);
  /// Applies HG_* variables from an environ-style array. Variables that name no key are
  /// ignored: HG_ is also the prefix of process switches such as HG_FORCE_KERNEL.
  [[nodiscard]] result<void> load_environment(char** environ_array);
  /// Consumes --key=value and --key value flags that name declared keys (booleans also take
  /// a bare --key); returns the remaining arguments in order. Unknown --flags are errors.
  [[nodiscard]] result<std::vector<std::string>> apply_flags(const std::vector<std::string>& args);
  /// Sets one key as if from `source`, validating the value against the key's type.
  [[nodiscard]] result<void> set(std::string_view key, std::string_view value,
                                 config_source source);

  /// For every secret K whose K_file is set: reads the file and makes its contents K's value
  /// (trailing "\r" and "\n" dropped; the value keeps K_file's source). Run it once after the
  /// last override. Errors (with `problem`, when given, naming the key and what is wrong):
  /// errc::config_bad_value when both K and K_file are set, or the file is empty;
  /// errc::config_file when the file cannot be read.
  [[nodiscard]] result<void> resolve_secret_files(std::string* problem = nullptr);

  [[nodiscard]] bool has(std::string_view key) const;
  /// Typed reads. The key must be declared (a programming error otherwise: throws
  /// std::out_of_range). Values were validated when they were set.
  [[nodiscard]] const std::string& get_string(std::string_view key) const;
  [[nodiscard]] std::int64_t get_int(std::string_view key) const;
  [[nodiscard]] bool get_bool(std::string_view key) const;

  /// "key = value  (source)" lines for every key, secrets shown as "<redacted>" when set.
  [[nodiscard]] std::string describe() const;
  [[nodiscard]] std::vector<config_entry> entries() const;

 private:
  config_entry* find(std::string_view key);
  [[nodiscard]] const config_entry& at(std::string_view key) const;
  std::map<std::string, config_entry> entries_;  // by normalised key
};

/// The companion key of a secret: "<key>_file".
[[nodiscard]] std::string secret_file_key(std::string_view key);

/// Lower-cases and maps '.', '-' to '_' ("HTTP.read-timeout" -> "http_read_timeout").
[[nodiscard]] std::string normalize_config_key(std::string_view key);

}  // namespace hashguard::core
