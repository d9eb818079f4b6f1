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
      command{"lists", "hash lists: create, import, export, ls, enable, disable, set, retire",
              run_lists},
      command{"exchanges", "hash sources followed: list, status, sync NAME", run_exchanges},
      command{"keys", "API keys: create, ls, revoke", run_keys},
      command{"cases", "case store retention: purge", run_cases},
      command{"db", "the database: start (embedded PostgreSQL), migrate, status", run_db},
      command{"audit", "audit log: verify its hash chain", run_audit},
      command{"export", "compliance exports: cases, events, aggregate, cybertipline (audited)",
              run_export},
      command{"serve", "run the HTTP service (scan, match, lists, cases, metrics)", run_serve},
  };
  return table;
}

}  // namespace hashguard::app
