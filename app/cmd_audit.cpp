// hashguard audit verify: walks the audit log's keyed hash chain and checks it against the
// published head (audit.head_file, or --head FILE: a copy kept on write-once storage).
#include "commands.hpp"
#include "db_common.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/audit_config.hpp"

#include <filesystem>
#include <iostream>

namespace hashguard::app {
namespace {

constexpr const char* usage =
    "usage: hashguard audit verify [--head FILE] [--json]   (plus --database-url URL | "
    "--data-dir DIR)\n"
    "  checks every row's link and keyed hash (audit.key, audit.previous_keys) and that the\n"
    "  log still holds the published head (--head FILE, default audit.head_file, when it exists)\n"
    "  exit 0 when intact; 1 naming the first edited, deleted, reordered, unknown_key,\n"
    "  downgraded, head_mismatch or truncated row\n";

}  // namespace

int run_audit(const std::vector<std::string>& args) {
  core::config config;
  auto rest = load_config(config, args);
  if (!rest) return exit_usage;
  const cli_options o = parse_options(*rest, {"head"}, {"json", "help"});
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
  const std::filesystem::path head_file =
      o.value("head").value_or(db->settings().audit.head_file.string());
  auto published = hashdb::read_audit_head(head_file);
  if (!published) {
    print_error("audit verify", "head file " + head_file.string(), published.error());
    return exit_failure;
  }
  if (!*published && o.value("head")) {
    std::cerr << "hashguard audit verify: head file " << head_file.string() << " not found\n";
    return exit_failure;
  }
  hashdb::audit_log log(db->conn());
  auto v = log.verify(*published);
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
              << ",\"head_hash\":" << json_quote(v->head_hash)
              << ",\"legacy_rows\":" << v->legacy_rows << ",\"published_head\":"
              << (v->published ? "{\"id\":" + std::to_string(v->published->id) +
                                     ",\"hash\":" + json_quote(v->published->hash) +
                                     ",\"at\":" + json_quote(v->published->at) + "}"
                               : std::string("null"))
              << "}\n";
  } else if (v->ok) {
    std::cout << "audit log intact: " << v->rows << " rows";
    if (v->head_id) std::cout << ", head " << *v->head_id << " " << v->head_hash;
    if (v->published) {
      std::cout << "; published head " << v->published->id << " (" << head_file.string()
                << ") confirmed";
    } else {
      std::cout << "; no published head to check the newest rows against";
    }
    std::cout << "\n";
  } else {
    std::cout << "audit log BROKEN at row " << *v->first_bad << ": " << v->problem << " ("
              << v->rows << " rows)\n";
  }
  return v->ok ? exit_ok : exit_failure;
}

}  // namespace hashguard::app
