#include "serve_config.hpp"

#include "serve_reporting.hpp"

#include "commands.hpp"
#include "serve_review.hpp"

#include "hashguard/api/options.hpp"
#include "hashguard/core/errc.hpp"
#include "hashguard/exchanges/config.hpp"
#include "hashguard/hashdb/settings.hpp"
#include "hashguard/scanner/scan.hpp"

#include <algorithm>
#include <iostream>

extern char** environ;  // NOLINT: POSIX

namespace hashguard::app {

void declare_serve_config(core::config& cfg) {
  api::declare_config(cfg);
  declare_review_config(cfg);
  hashdb::declare_config(cfg);
  exchanges::declare_config(cfg);
  declare_serve_reporting_config(cfg);
  scanner::declare_config(cfg);
  cfg.declare("snapshot.poll_ms", core::config_type::integer, "2000",
              "how often the catalog version is polled for list changes (ms)");
  cfg.declare("suppressions.poll_ms", core::config_type::integer, "2000",
              "how often the decisions feed is polled for suppressed content (ms)");
  cfg.declare("snapshot.cache", core::config_type::string, "",
              "snapshot cache file; empty = DATA_DIR/snapshot.cache");
  cfg.declare("auth.refresh_ms", core::config_type::integer, "5000",
              "how often API keys are reloaded from the database (ms)");
  cfg.declare("node.name", core::config_type::string, "",
              "this node's name in match events; empty = the host name");
  cfg.declare("match.probe_limit", core::config_type::integer, "64",
              "near-duplicate PDQ queries (1..match.probe_radius bits from one of the key's last "
              "64 queries, exact repeats not counted) a key may send per hour to /v1/scan and "
              "/v1/match; past it they get 429 probe_suspected, audited (0: off)");
  cfg.declare("match.probe_radius", core::config_type::integer, "32",
              "bits within which a PDQ query counts as a near-duplicate of a recent one");
  cfg.declare("match.orientations", core::config_type::string, "exact",
              "rotations and mirrors of scanned images searched too: exact (the PDQ hashes of "
              "the 7 pixel-level rotations and flips), dihedral (the reference's 7 dihedral "
              "variants, from one DCT), off (upright only); a list with dihedral=false matches "
              "upright only");
  cfg.declare("match.trim", core::config_type::boolean, "true",
              "also match the content inside uniform borders, letterbox and pillarbox bars of "
              "scanned images (thresholds in README: trimming)");
  cfg.declare("flood.interval_s", core::config_type::integer, "60",
              "how often flood detection counts recent matches per list entry, once per cluster "
              "(s; 0: off)");
  cfg.declare("flood.window_s", core::config_type::integer, "3600",
              "the sliding window in which distinct contents (SHA-256) matching one entry are "
              "counted (s)");
  cfg.declare("flood.max_distinct", core::config_type::integer, "100",
              "an entry matched by more distinct contents than this in one window is flagged");
  cfg.declare("flood.baseline_factor", core::config_type::integer, "10",
              "an entry matched by more than this many times its own baseline (mean distinct "
              "contents per window over the flood.baseline_windows before) is flagged too");
  cfg.declare("flood.min_distinct", core::config_type::integer, "10",
              "the baseline rule needs at least this many distinct contents in the window");
  cfg.declare("flood.baseline_windows", core::config_type::integer, "24",
              "windows before the current one that make an entry's baseline");
  cfg.declare("match.dihedral", core::config_type::boolean, "true",
              "old name of match.orientations, used when set: true = dihedral, false = off");
}

std::optional<int> load_serve_config(core::config& cfg, const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  std::string config_file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h" || args[i] == "--help=markdown") {
      print_serve_usage(cfg, args[i] == "--help=markdown");
      return exit_ok;
    }
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_file = args[++i];
    } else if (args[i].starts_with("--config=")) {
      config_file = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
    }
  }
  if (!config_file.empty()) {
    if (auto r = cfg.load_file(config_file); !r) {
      std::cerr << "hashguard serve: config file " << config_file << ": " << r.error().message()
                << "\n";
      return exit_usage;
    }
  }
  if (auto r = cfg.load_environment(environ); !r) {
    std::cerr << "hashguard serve: environment: " << r.error().message() << "\n";
    return exit_usage;
  }
  auto leftover = cfg.apply_flags(rest);
  if (!leftover) {
    std::cerr << "hashguard serve: " << leftover.error().message()
              << " (run `hashguard serve --help` for the settings)\n";
    return exit_usage;
  }
  if (!leftover->empty()) {
    std::cerr << "hashguard serve: unexpected argument '" << leftover->front() << "'\n";
    return exit_usage;
  }
  std::string problem;
  if (auto r = cfg.resolve_secret_files(&problem); !r) {
    std::cerr << "hashguard serve: " << problem << "\n";
    return exit_usage;
  }
  return std::nullopt;
}

// `--help` prints every declared setting for people; `--help=markdown` prints the same
// declarations as a markdown table, from which scripts/gen-config-doc writes
// docs/configuration.md (and a test checks that page against it), so the page cannot drift
// from the settings the binary accepts.
void print_serve_usage(const core::config& cfg, bool markdown) {
  if (markdown) {
    const auto cell = [](std::string_view text) {  // a '|' would end the table cell
      std::string out;
      for (const char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
      return out;
    };
    const auto type_name = [](core::config_type t) {
      switch (t) {
        case core::config_type::integer: return "integer";
        case core::config_type::boolean: return "boolean";
        case core::config_type::secret: return "secret";
        case core::config_type::string: break;
      }
      return "string";
    };
    std::cout << "| setting | type | default | environment | description |\n"
                 "|---|---|---|---|---|\n";
    for (const auto& e : cfg.entries()) {
      std::string env = "HG_" + core::normalize_config_key(e.key);
      for (char& c : env) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
      std::string default_cell = "(empty)";
      if (e.type == core::config_type::secret) {
        default_cell = "`<secret>`";
      } else if (!e.value.empty()) {
        default_cell = "`" + cell(e.value) + "`";
      }
      std::cout << "| `" << e.key << "` | " << type_name(e.type) << " | " << default_cell << " | `"
                << env << "` | " << cell(e.help) << " |\n";
    }
    return;
  }
  std::cout << "usage: hashguard serve [--config FILE] [--KEY=VALUE...]\n\n"
               "Starts the HTTP service. Settings (flag, HG_* variable, default):\n";
  for (const auto& e : cfg.entries()) {
    std::cout << "  --" << e.key << "  " << e.help
              << "  (default: " << (e.type == core::config_type::secret ? "<secret>" : e.value)
              << ")\n";
  }
}

core::result<handlers::orientation_match> orientation_match_from(const core::config& cfg) {
  // The old key wins when it was set: a configuration written for it keeps its meaning.
  const auto entries = cfg.entries();
  const auto old = std::find_if(entries.begin(), entries.end(), [](const core::config_entry& e) {
    return e.key == "match.dihedral";
  });
  if (old != entries.end() && old->source != core::config_source::defaults) {
    return cfg.get_bool("match.dihedral") ? handlers::orientation_match::dihedral
                                          : handlers::orientation_match::off;
  }
  const std::string& mode = cfg.get_string("match.orientations");
  if (mode == "exact") return handlers::orientation_match::exact;
  if (mode == "dihedral") return handlers::orientation_match::dihedral;
  if (mode == "off") return handlers::orientation_match::off;
  return core::errc::config_bad_value;
}

}  // namespace hashguard::app
