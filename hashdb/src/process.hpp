// Running the PostgreSQL tools (initdb, pg_ctl) as child processes. Private to hashdb.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace hashguard::hashdb::detail {

/// Runs argv[0] (searched in PATH when it has no '/') with argv, stdin from /dev/null and
/// stdout+stderr appended to `log`. Returns the exit status, or -1 when it could not be run or
/// was killed by a signal.
int run_command(const std::vector<std::string>& argv, const std::filesystem::path& log);

/// The last `max_bytes` of a file (for error details).
std::string tail_of(const std::filesystem::path& file, std::size_t max_bytes = 2000);

}  // namespace hashguard::hashdb::detail
