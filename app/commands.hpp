// The subcommands of the `hashguard` executable. Each lives in its own cmd_*.cpp and is
// registered in the table of commands.cpp; main() only dispatches.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::app {

/// Arguments after the subcommand name. Returns the process exit status:
/// 0 success, 1 a failure of the work, 2 a usage error.
using command_fn = int (*)(const std::vector<std::string>& args);

struct command {
  std::string_view name;
  std::string_view summary;
  command_fn run;
};

/// Every subcommand, in the order `hashguard help` lists them.
std::span<const command> commands();

int run_help(const std::vector<std::string>& args);
int run_version(const std::vector<std::string>& args);
int run_hash(const std::vector<std::string>& args);
int run_match(const std::vector<std::string>& args);
int run_lists(const std::vector<std::string>& args);
int run_keys(const std::vector<std::string>& args);
int run_cases(const std::vector<std::string>& args);
int run_db(const std::vector<std::string>& args);
int run_audit(const std::vector<std::string>& args);
int run_export(const std::vector<std::string>& args);
int run_exchanges(const std::vector<std::string>& args);
int run_serve(const std::vector<std::string>& args);

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

}  // namespace hashguard::app
