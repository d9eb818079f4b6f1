// hashguard export: the compliance exports (hashdb/export.hpp) from the command line, streamed
// to a file or stdout. Each export appends its custody record (what, who = cli:USER, when, the
// SHA-256 of the bytes) to the audit log, as the HTTP routes do.
#include "commands.hpp"
#include "db_common.hpp"

#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/export.hpp"

#include <fstream>
#include <iostream>

namespace hashguard::app {
namespace {

constexpr const char* usage =
    "usage: hashguard export cases|events --from DATE --to DATE [--format csv|json] [--output "
    "FILE]\n"
    "       hashguard export aggregate --from DATE --to DATE [--period day|week|month]\n"
    "                        [--format csv|json] [--output FILE]\n"
    "       hashguard export cybertipline --case ID [--part report.xml|fileDetails-N.xml]\n"
    "                        [--output FILE]\n"
    "  DATE is YYYY-MM-DD (UTC midnight); --to is exclusive. Without --part, cybertipline writes\n"
    "  a tar package (report.xml, fileDetails-N.xml, manifest.json). Every export is recorded in\n"
    "  the audit log with the SHA-256 of its bytes (printed on stderr).\n";

}  // namespace

int run_export(const std::vector<std::string>& args) {
  core::config config;
  hashdb::declare_report_config(config);
  auto rest = load_config(config, args);
  if (!rest) return exit_usage;
  const cli_options o =
      parse_options(*rest, {"from", "to", "format", "period", "output", "case", "part"}, {"help"});
  if (o.positional.size() != 1 || o.has("help") || !o.error.empty()) {
    if (!o.error.empty()) std::cerr << "hashguard export: " << o.error << "\n";
    std::cout << usage;
    return o.has("help") ? exit_ok : exit_usage;
  }
  const std::string what = o.positional[0];
  if (what != "cases" && what != "events" && what != "aggregate" && what != "cybertipline") {
    std::cerr << "hashguard export: unknown export '" << what << "'\n" << usage;
    return exit_usage;
  }
  hashdb::export_range range{};
  auto format = hashdb::parse_export_format(o.value("format").value_or("csv"));
  std::int64_t case_id = 0;
  if (what == "cybertipline") {
    const auto id = core::parse_int<std::int64_t>(o.value("case").value_or(""));
    if (!id) {
      std::cerr << "hashguard export cybertipline: --case takes a numeric case id\n";
      return exit_usage;
    }
    case_id = *id;
  } else {
    const auto from = core::parse_date_us(o.value("from").value_or(""));
    const auto to = core::parse_date_us(o.value("to").value_or(""));
    if (!from || !to || *to <= *from || !format) {
      std::cerr << "hashguard export: --from and --to (YYYY-MM-DD, from before to) and --format "
                   "csv|json\n";
      return exit_usage;
    }
    range = {*from, *to};
  }

  std::ofstream file;
  std::ostream* out = &std::cout;
  if (auto path = o.value("output")) {
    file.open(*path, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "hashguard export: cannot write " << *path << "\n";
      return exit_failure;
    }
    out = &file;
  }
  const hashdb::export_sink sink = [out](std::string_view chunk) {
    out->write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (!*out) throw std::runtime_error("write failed");
  };

  auto db = db_session::open(config);
  if (!db) return exit_failure;
  hashdb::exporter ex(db->conn());
  core::result<hashdb::export_receipt> r = hashdb::errc::invalid_argument;
  if (what == "cases") {
    r = ex.cases(range, *format, sink, db->actor());
  } else if (what == "events") {
    r = ex.events(range, *format, sink, db->actor());
  } else if (what == "aggregate") {
    r = ex.aggregate(range, o.value("period").value_or("month"), *format, sink, db->actor());
  } else {
    r = ex.cybertipline(case_id, hashdb::package_options_from(config), sink, db->actor(),
                        o.value("part"));
  }
  out->flush();
  if (!r) {
    print_error("export", what, r.error(), db->conn().last_error());
    return exit_failure;
  }
  std::cerr << "hashguard export " << what << ": " << r->items << " items, " << r->bytes
            << " bytes, sha256 " << r->sha256 << ", audit entry " << r->audit_id << "\n";
  return exit_ok;
}

}  // namespace hashguard::app
