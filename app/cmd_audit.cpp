// hashguard audit verify: walks the audit log's hash chain.
#include "commands.hpp"
#include "db_common.hpp"

#include "hashguard/hashdb/audit.hpp"

#include <iostream>

namespace hashguard::app {
namespace {

constexpr const char* usage =
    "usage: hashguard audit verify [--json]   (plus --database-url URL | --data-dir DIR)\n"
    "  exit 0 when the chain is intact; 1 naming the first edited, deleted or reordered row\n";

}  // namespace

int run_audit(const std::vector<std::string>& args) {
  core::config config;
  auto rest = load_config(config, args);
  if (!rest) return exit_usage;
  const cli_options o = parse_options(*rest, {}, {"json", "help"});
  if (o.positional.empty() || o.has("help")) {
    std::cout << usage;
    return o.has("help") ? exit_ok : exit_usage;
  }
  if (!o.error.empty() || o.positional.size() != 1 || o.positional[0] != "verify") {
    std::cerr << "hashguard audit: " << (o.error.empty() ? "unknown verb" : o.error) << "\n"
              << usage;
    return exit_usage;
  }
  auto db = db_session::open(config);
  if (!db) return exit_failure;
  hashdb::audit_log log(db->conn());
  auto v = log.verify();
  if (!v) {
    print_error("audit verify", "verify", v.error(), db->conn().last_error());
    return exit_failure;
  }
  if (o.has("json")) {
    std::cout << "{\"ok\":" << (v->ok ? "true" : "false") << ",\"rows\":" << v->rows
              << ",\"first_bad\":"
              << (v->first_bad ? std::to_string(*v->first_bad) : std::string("null"))
              << ",\"problem\":" << json_quote(v->problem)
              << ",\"head_id\":" << (v->head_id ? std::to_string(*v->head_id) : std::string("null"))
              << ",\"head_hash\":" << json_quote(v->head_hash) << "}\n";
  } else if (v->ok) {
    std::cout << "audit log intact: " << v->rows << " rows";
    if (v->head_id) std::cout << ", head " << *v->head_id << " " << v->head_hash;
    std::cout << "\n";
  } else {
    std::cout << "audit log BROKEN at row " << *v->first_bad << ": " << v->problem << " ("
              << v->rows << " rows)\n";
  }
  return v->ok ? exit_ok : exit_failure;
}

}  // namespace hashguard::app
