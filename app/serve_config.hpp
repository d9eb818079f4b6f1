// hashguard serve's settings: every key serve reads, declared once (defaults and help text),
// loaded in order (embedded defaults < --config FILE < HG_* environment < --KEY=VALUE flags),
// and printed for people (--help) or as the markdown table docs/configuration.md is generated
// from (--help=markdown; scripts/gen-config-doc, and a test that checks the page).
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/core/error.hpp"
#include "hashguard/handlers/services.hpp"

#include <optional>
#include <string>
#include <vector>

namespace hashguard::app {

/// Declares every setting of serve: the transport's, the database's and the review side's,
/// the scanner's, and serve's own (snapshot.*, suppressions.*, auth.refresh_ms, node.name,
/// match.orientations and its old name match.dihedral).
void declare_serve_config(core::config& cfg);

/// match.orientations, or match.dihedral when that was set (true = dihedral, false = off).
/// Errors: core::errc::config_bad_value for an unknown mode.
[[nodiscard]] core::result<handlers::orientation_match> orientation_match_from(
    const core::config& cfg);

/// Applies --config FILE, the HG_* environment and the flags in `args`. Returns the exit
/// status when serve should stop here (after --help, or after printing what is wrong),
/// nullopt to go on.
[[nodiscard]] std::optional<int> load_serve_config(core::config& cfg,
                                                   const std::vector<std::string>& args);

/// --help (people) or --help=markdown (the configuration page's table).
void print_serve_usage(const core::config& cfg, bool markdown);

}  // namespace hashguard::app
