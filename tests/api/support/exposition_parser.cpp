#include "exposition_parser.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <utility>

namespace hg_test {
namespace {

[[noreturn]] void fail(std::size_t line, const std::string& what) {
  throw std::runtime_error("line " + std::to_string(line) + ": " + what);
}

bool name_char(char c, bool first, bool colon_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon_ok && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

// The longest name at the front of `s` (metric names allow ':', label names do not).
std::string_view take_name(std::string_view& s, bool colon_ok) {
  std::size_t n = 0;
  while (n < s.size() && name_char(s[n], n == 0, colon_ok)) ++n;
  auto name = s.substr(0, n);
  s.remove_prefix(n);
  return name;
}

// Go's strconv.ParseFloat as Prometheus uses it: decimal or exponent forms, Inf and NaN.
bool parse_float(std::string_view s, double& out) {
  if (s == "+Inf" || s == "Inf") {
    out = INFINITY;
    return true;
  }
  if (s == "-Inf") {
    out = -INFINITY;
    return true;
  }
  if (s == "NaN") {
    out = NAN;
    return true;
  }
  if (s.starts_with('+')) s.remove_prefix(1);
  if (s.empty() || s.starts_with('+')) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+')) {
      return false;
    }
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

std::string unescape_help(std::string_view s, std::size_t line) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    if (++i == s.size()) fail(line, "HELP ends in a lone backslash");
    if (s[i] == '\\') {
      out.push_back('\\');
    } else if (s[i] == 'n') {
      out.push_back('\n');
    } else {
      fail(line, std::string("invalid escape \\") + s[i] + " in HELP");
    }
  }
  return out;
}

// `{a="x",b="y"}` at the front of `s` (the braces optional as a whole; a trailing comma allowed).
std::map<std::string, std::string> take_labels(std::string_view& s, std::size_t line) {
  std::map<std::string, std::string> labels;
  if (!s.starts_with('{')) return labels;
  s.remove_prefix(1);
  while (!s.starts_with('}')) {
    const auto name = take_name(s, false);
    if (name.empty()) fail(line, "invalid label name");
    if (!s.starts_with("=\"")) fail(line, "label " + std::string(name) + " lacks =\"");
    s.remove_prefix(2);
    std::string value;
    for (;;) {
      if (s.empty()) fail(line, "unterminated label value");
      const char c = s.front();
      s.remove_prefix(1);
      if (c == '"') break;
      if (c == '\n') fail(line, "raw newline in a label value");
      if (c != '\\') {
        value.push_back(c);
        continue;
      }
      if (s.empty()) fail(line, "label value ends in a lone backslash");
      const char e = s.front();
      s.remove_prefix(1);
      if (e == '\\' || e == '"') {
        value.push_back(e);
      } else if (e == 'n') {
        value.push_back('\n');
      } else {
        fail(line, std::string("invalid escape \\") + e + " in a label value");
      }
    }
    if (!labels.emplace(std::string(name), std::move(value)).second) {
      fail(line, "label " + std::string(name) + " twice");
    }
    if (s.starts_with(',')) {
      s.remove_prefix(1);
    } else if (!s.starts_with('}')) {
      fail(line, "expected , or } after a label");
    }
  }
  s.remove_prefix(1);
  return labels;
}

// The family a sample name belongs to, given the current family's type.
bool belongs(std::string_view sample, const exposition_family& f) {
  if (sample == f.name) return f.type != "histogram";
  if (!sample.starts_with(f.name)) return false;
  const auto suffix = sample.substr(f.name.size());
  if (f.type == "histogram") return suffix == "_bucket" || suffix == "_sum" || suffix == "_count";
  if (f.type == "summary") return suffix == "_sum" || suffix == "_count";
  return false;
}

void check_histogram(const exposition_family& f) {
  struct series {
    std::vector<std::pair<double, double>> buckets;  // (le, count) in order of appearance
    int sums{0};
    int counts{0};
    double count{};
  };
  std::map<std::map<std::string, std::string>, series> by_labels;
  auto fail_family = [&f](const std::string& what) {
    throw std::runtime_error("histogram " + f.name + ": " + what);
  };
  for (const auto& s : f.samples) {
    auto labels = s.labels;
    if (s.name == f.name + "_bucket") {
      auto le = labels.find("le");
      if (le == labels.end()) fail_family("a bucket without le");
      double bound{};
      if (!parse_float(le->second, bound) || std::isnan(bound)) {
        fail_family("le=\"" + le->second + "\" is not a number");
      }
      labels.erase(le);
      by_labels[labels].buckets.emplace_back(bound, s.value);
    } else {
      if (labels.contains("le")) fail_family(s.name + " has an le label");
      auto& one = by_labels[labels];
      if (s.name == f.name + "_sum") {
        ++one.sums;
      } else {
        ++one.counts;
        one.count = s.value;
      }
    }
  }
  for (const auto& [labels, one] : by_labels) {
    if (one.buckets.empty()) fail_family("a series without buckets");
    for (std::size_t i = 1; i < one.buckets.size(); ++i) {
      if (!(one.buckets[i].first > one.buckets[i - 1].first)) fail_family("le not ascending");
      if (one.buckets[i].second < one.buckets[i - 1].second) fail_family("counts not cumulative");
    }
    if (!std::isinf(one.buckets.back().first)) fail_family("no le=\"+Inf\" bucket last");
    if (one.sums != 1 || one.counts != 1) fail_family("needs one _sum and one _count per series");
    if (one.count != one.buckets.back().second) fail_family("_count differs from the +Inf bucket");
  }
}

}  // namespace

const exposition_family* exposition::find(std::string_view name) const {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

exposition parse_exposition(std::string_view text) {
  exposition out;
  std::set<std::string, std::less<>> finished;  // families whose lines ended
  // The family being read: its metadata lines seen so far and whether samples started.
  exposition_family* current = nullptr;
  bool has_help = false;
  bool has_type = false;
  std::set<std::pair<std::string, std::map<std::string, std::string>>> seen_series;

  auto end_family = [&](std::size_t line) {
    if (current == nullptr) return;
    if (!has_help || !has_type) fail(line, "family " + current->name + " lacks HELP or TYPE");
    finished.insert(current->name);
  };
  auto start_family = [&](std::string_view name, std::size_t line) {
    if (current != nullptr && current->name == name) return;
    end_family(line);
    if (finished.contains(name)) fail(line, "family " + std::string(name) + " appears twice");
    out.families.push_back({std::string(name), {}, {}, {}});
    current = &out.families.back();
    has_help = has_type = false;
  };

  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto eol = text.find('\n');
    if (eol == std::string_view::npos) fail(line_no, "the last line lacks its newline");
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol + 1);
    if (line.empty()) continue;

    if (line.starts_with('#')) {
      std::string_view rest = line.substr(1);
      if (!rest.starts_with(' ')) continue;
      rest.remove_prefix(1);
      const bool help = rest.starts_with("HELP ");
      const bool type = rest.starts_with("TYPE ");
      if (!help && !type) continue;  // an ordinary comment
      rest.remove_prefix(5);
      const auto name = take_name(rest, true);
      if (name.empty()) fail(line_no, "invalid metric name in a HELP/TYPE line");
      if (!rest.empty() && !rest.starts_with(' ')) fail(line_no, "invalid metric name");
      if (!rest.empty()) rest.remove_prefix(1);
      start_family(name, line_no);
      if (!current->samples.empty()) {
        fail(line_no, "HELP/TYPE of " + std::string(name) + " after its samples");
      }
      if (help) {
        if (has_help) fail(line_no, "second HELP for " + std::string(name));
        has_help = true;
        current->help = unescape_help(rest, line_no);
      } else {
        if (has_type) fail(line_no, "second TYPE for " + std::string(name));
        has_type = true;
        static const std::set<std::string, std::less<>> types{"counter", "gauge", "histogram",
                                                              "summary", "untyped"};
        if (!types.contains(rest)) fail(line_no, "unknown type \"" + std::string(rest) + "\"");
        current->type = std::string(rest);
      }
      continue;
    }

    std::string_view rest = line;
    const auto name = take_name(rest, true);
    if (name.empty()) fail(line_no, "invalid metric name");
    if (current == nullptr || !belongs(name, *current)) {
      fail(line_no, "sample " + std::string(name) + " before its family's HELP and TYPE");
    }
    if (!has_help || !has_type) {
      fail(line_no, "family " + current->name + " lacks HELP or TYPE before its samples");
    }
    exposition_sample sample{std::string(name), take_labels(rest, line_no), 0};
    if (current->type == "histogram" && sample.name != current->name + "_bucket" &&
        sample.labels.contains("le")) {
      fail(line_no, "le label outside _bucket");
    }
    if (!rest.starts_with(' ')) fail(line_no, "expected a space before the value");
    rest.remove_prefix(1);
    const auto space = rest.find(' ');
    if (!parse_float(rest.substr(0, space), sample.value)) {
      fail(line_no, "invalid value \"" + std::string(rest.substr(0, space)) + "\"");
    }
    if (space != std::string_view::npos) {
      const auto ts = rest.substr(space + 1);
      std::int64_t t{};
      const auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), t);
      if (ts.empty() || ec != std::errc{} || end != ts.data() + ts.size()) {
        fail(line_no, "invalid timestamp \"" + std::string(ts) + "\"");
      }
    }
    if (current->type == "counter" && sample.value < 0) fail(line_no, "negative counter");
    if (!seen_series.insert({sample.name, sample.labels}).second) {
      fail(line_no, "series " + sample.name + " twice with the same labels");
    }
    current->samples.push_back(std::move(sample));
  }
  end_family(line_no);
  for (const auto& f : out.families) {
    if (f.type == "histogram") check_histogram(f);
  }
  return out;
}

}  // namespace hg_test
