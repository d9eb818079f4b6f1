// What every page an exchange client returns must satisfy (exchanges/source.hpp's
// source_entry contract), checked by the exchange parsers' fuzz targets.
#pragma once

#include "fuzz_support.hpp"
#include "hashguard/core/vocabulary.hpp"
#include "hashguard/exchanges/source.hpp"

#include <vector>

namespace hg_fuzz {

inline void check_entries(const std::vector<hashguard::exchanges::source_entry>& entries) {
  namespace core = hashguard::core;
  for (const auto& e : entries) {
    HG_FUZZ_CHECK(!e.source_id.empty() && e.source_id.size() <= 512);
    HG_FUZZ_CHECK(!e.signal.empty());
    HG_FUZZ_CHECK(e.value.size() <= 4096);
    HG_FUZZ_CHECK(e.tags.size() <= 32);
    for (const auto& t : e.tags) HG_FUZZ_CHECK(!t.empty() && t.size() <= 128);
    if (const auto sig = core::parse_signal(e.signal); sig && !(e.deleted && e.value.empty())) {
      HG_FUZZ_CHECK(e.value.size() == core::signal_hex_length(*sig));
      for (const char c : e.value) HG_FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
    if (!e.deleted) HG_FUZZ_CHECK(!e.value.empty());
  }
}

}  // namespace hg_fuzz
