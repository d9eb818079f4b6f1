#include "commands.hpp"

#include <array>

namespace hashguard::app {

std::span<const command> commands() {
  static constexpr std::array table{
      command{"help", "list the subcommands, or describe one: hashguard help COMMAND", run_help},
      command{"version", "print the version", run_version},
      command{"hash",
              "hash images (PDQ, pHash, digests): hashguard hash [--format=jsonl] FILE|DIR...",
              run_hash},
      command{"match", "match hashes against hash list files: hashguard match --list FILE HEX...",
              run_match},
  };
  return table;
}

}  // namespace hashguard::app
