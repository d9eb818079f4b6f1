// hashguard cases purge: retention of the case store.
#include "commands.hpp"
#include "db_common.hpp"

#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/evidence.hpp"

#include <iostream>

namespace hashguard::app {
namespace {

constexpr const char* usage =
    "usage: hashguard cases purge [--case ID] [--dry-run]   (plus --database-url | --data-dir)\n"
    "  deletes preserved evidence (encrypted matched content) of cases past their preservation\n"
    "  deadline and of false-positive cases, removes reported cases past their preservation\n"
    "  deadline (retention.preserve_days after the first report) and reduces false-positive\n"
    "  cases to their hashes after retention.false_positive_days; cases on legal hold are never\n"
    "  touched. With --case, that case only: refused (exit 1) when it is held or its retention\n"
    "  has not expired. `hashguard serve` runs the same purge every\n"
    "  retention.purge_interval_s.\n";

void print_ids(std::string_view label, const std::vector<std::int64_t>& ids) {
  std::cout << label << ": " << ids.size();
  for (std::size_t i = 0; i < ids.size() && i < 50; ++i) std::cout << (i ? "," : " ") << ids[i];
  if (ids.size() > 50) std::cout << ",...";
  std::cout << "\n";
}

}  // namespace

int run_cases(const std::vector<std::string>& args) {
  core::config config;
  auto rest = load_config(config, args);
  if (!rest) return exit_usage;
  const cli_options o = parse_options(*rest, {"case"}, {"dry-run", "help"});
  if (o.positional.empty() || o.has("help")) {
    std::cout << usage;
    return o.has("help") ? exit_ok : exit_usage;
  }
  if (!o.error.empty() || o.positional.size() != 1 || o.positional[0] != "purge") {
    std::cerr << "hashguard cases: " << (o.error.empty() ? "unknown verb" : o.error) << "\n"
              << usage;
    return exit_usage;
  }
  std::optional<std::int64_t> only;
  if (auto c = o.value("case")) {
    const auto id = core::parse_int<std::int64_t>(*c);
    if (!id) {
      std::cerr << "hashguard cases purge: --case takes a numeric case id\n";
      return exit_usage;
    }
    only = *id;
  }
  auto db = db_session::open(config);
  if (!db) return exit_failure;
  // Evidence first: deleting an expired case would take its evidence with it unaudited.
  auto ev = hashdb::purge_evidence(
      db->conn(), db->actor(), db->settings().cases.false_positive_days, only, o.has("dry-run"));
  if (!ev) {
    print_error("cases purge", "evidence", ev.error(), db->conn().last_error());
    return exit_failure;
  }
  hashdb::case_store cases(db->conn(), db->settings().cases);
  auto r = cases.purge(only, db->actor(), o.has("dry-run"));
  if (!r) {
    print_error("cases purge", only ? "case " + std::to_string(*only) : "all", r.error(),
                db->conn().last_error());
    return exit_failure;
  }
  if (o.has("dry-run")) std::cout << "dry run: nothing changed\n";
  std::cout << "evidence files purged: " << ev->purged.size() << "\n";
  print_ids("evidence kept (legal hold)", ev->held);
  print_ids("deleted (preservation over)", r->deleted);
  print_ids("reduced to hashes (false positive)", r->reduced);
  print_ids("skipped (legal hold)", r->held_skipped);
  return exit_ok;
}

}  // namespace hashguard::app
