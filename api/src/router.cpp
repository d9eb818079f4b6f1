#include "hashguard/api/router.hpp"

#include "hashguard/core/hex.hpp"

#include <algorithm>

namespace hashguard::api {
namespace {

bool is_param(std::string_view segment) {
  return segment.size() >= 3 && segment.front() == '{' && segment.back() == '}';
}

// How specific a pattern is: the number of literal segments before the first parameter, then
// the total number of literal segments.
std::pair<std::size_t, std::size_t> specificity(const std::vector<std::string>& pattern) {
  std::size_t leading = 0;
  bool seen_param = false;
  std::size_t literals = 0;
  for (std::string_view s : pattern) {
    if (is_param(s)) {
      seen_param = true;
    } else {
      ++literals;
      if (!seen_param) ++leading;
    }
  }
  return {leading, literals};
}

// "{name...}": the rest of the path (last pattern segment only).
bool is_rest_param(std::string_view segment) {
  return segment.size() >= 6 && segment.front() == '{' && segment.ends_with("...}");
}

template <class Segment>
bool match_pattern(const std::vector<Segment>& pattern, const std::vector<std::string_view>& path,
                   std::map<std::string, std::string, std::less<>>* params) {
  const bool rest = !pattern.empty() && is_rest_param(pattern.back());
  if (rest ? path.size() < pattern.size() : pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::string_view segment = pattern[i];
    if (rest && i + 1 == pattern.size()) {
      if (params != nullptr) {
        std::string joined;
        for (std::size_t j = i; j < path.size(); ++j) {
          if (j > i) joined.push_back('/');
          joined.append(path[j]);
        }
        (*params)[std::string(segment.substr(1, segment.size() - 5))] = percent_decode(joined);
      }
      return true;
    }
    if (is_param(segment)) {
      if (path[i].empty()) return false;
      if (params != nullptr) {
        (*params)[std::string(segment.substr(1, segment.size() - 2))] = percent_decode(path[i]);
      }
    } else if (segment != path[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = core::hex_digit_value(text[i + 1]);
      const int lo = core::hex_digit_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>((hi << 4) | lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

void route_table::add(route_spec spec, async_handler handler) {
  for (auto& r : routes_) {
    if (r.spec.method == spec.method && r.spec.pattern == spec.pattern) {
      r = route{std::move(spec), std::move(handler), {}};
      return;
    }
  }
  std::vector<std::string> segments;
  for (auto s : split_path(spec.pattern)) segments.emplace_back(s);
  patterns_.push_back(std::move(segments));
  routes_.push_back(route{std::move(spec), std::move(handler), {}});
}

void route_table::add(route_spec spec, sync_handler handler) {
  const std::string method = spec.method;
  const std::string pattern = spec.pattern;
  add(std::move(spec), make_async(handler));
  for (auto& r : routes_) {
    if (r.spec.method == method && r.spec.pattern == pattern) r.sync = std::move(handler);
  }
}

const route* route_table::find(std::string_view method, std::string_view pattern) const {
  for (const auto& r : routes_) {
    if (r.spec.method == method && r.spec.pattern == pattern) return &r;
  }
  return nullptr;
}

route_match route_table::match(std::string_view method, std::string_view path) const {
  route_match out;
  const auto segments = split_path(path);
  const route* best = nullptr;
  std::pair<std::size_t, std::size_t> best_rank{};
  std::vector<std::string> allowed;
  std::size_t best_index = 0;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const route& r = routes_[i];
    const auto& pattern = patterns_[i];
    if (!match_pattern(pattern, segments, nullptr)) continue;
    if (r.spec.method != method) {
      if (std::find(allowed.begin(), allowed.end(), r.spec.method) == allowed.end()) {
        allowed.push_back(r.spec.method);
      }
      continue;
    }
    const auto rank = specificity(pattern);
    if (best == nullptr || rank > best_rank) {
      best = &r;
      best_rank = rank;
      best_index = i;
    }
  }
  if (best != nullptr) {
    out.matched = best;
    match_pattern(patterns_[best_index], segments, &out.params);
    return out;
  }
  std::sort(allowed.begin(), allowed.end());
  for (const auto& m : allowed) {
    if (!out.allow.empty()) out.allow += ", ";
    out.allow += m;
  }
  return out;
}

}  // namespace hashguard::api
