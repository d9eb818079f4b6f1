// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests that
// read a real /metrics: what it accepts, a real Prometheus scrape accepts too, and it rejects
// what Prometheus rejects plus what hashguard promises never to write.
//
// Rules (each violation throws std::runtime_error naming the line):
//   - every line ends with '\n'; empty lines and comments other than HELP/TYPE are ignored
//   - every family has exactly one "# HELP name text" and one "# TYPE name type" (counter,
//     gauge, histogram, summary, untyped), both before its first sample; a family's lines are
//     contiguous (a family never appears twice); HELP text escapes only \\ and \n
//   - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* (no repeats in
//     one sample), label values quoted with only \\, \" and \n escapes
//   - values are Go floats (1, -2.5, 1e-3, +Inf, -Inf, NaN); an optional integer timestamp
//   - a sample's name is its family's (histograms: family_bucket/_sum/_count; summaries:
//     family, family_sum, family_count); no two samples share name and labels
//   - counters are not negative; histograms: per label set, buckets with ascending le ending
//     in le="+Inf", cumulative (non-decreasing) counts, one _sum and one _count equal to the
//     +Inf bucket
//
// Not thread-safe state: parse_exposition is a pure function.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hg_test {

struct exposition_sample {
  std::string name;                           ///< family name plus any _bucket/_sum/_count
  std::map<std::string, std::string> labels;  ///< unescaped values
  double value{};
};

struct exposition_family {
  std::string name;
  std::string help;  ///< unescaped
  std::string type;
  std::vector<exposition_sample> samples;
};

struct exposition {
  std::vector<exposition_family> families;  ///< in the order they appear
  /// The family `name`, or nullptr.
  [[nodiscard]] const exposition_family* find(std::string_view name) const;
};

/// Parses `text` under the rules above; throws std::runtime_error("line N: ...") otherwise.
exposition parse_exposition(std::string_view text);

}  // namespace hg_test
