#include "commands.hpp"

#include <array>

namespace hashguard::app {

std::span<const command> commands() {
  static constexpr std::array table{
      command{"help", "list the subcommands, or describe one: hashguard help COMMAND", run_help},
      command{"version", "print the version", run_version},
      command{"serve", "run the HTTP service (scan, match, lists, cases, metrics)", run_serve},
  };
  return table;
}

}  // namespace hashguard::app
