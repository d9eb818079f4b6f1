// libFuzzer target: NCMEC hash sharing's XML answers (exchanges/ncmec_wire.hpp). The input is
// one answer body, read as an entries page and as a feedback-reasons answer.
//
// Invariants: a parsed page's entries satisfy source_entry's contract (hashguard signals as
// lowercase hex of their length, bounded values and tags, a source id), its next link is
// one valid_next accepts, its estimate counts at least the NCMEC entries it holds, and parsing
// twice gives the same page.
#include "exchange_invariants.hpp"
#include "hashguard/exchanges/ncmec_wire.hpp"

#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ncmec = hashguard::exchanges::ncmec;
  const std::string_view xml(reinterpret_cast<const char*>(data), size);  // NOLINT
  const auto page = ncmec::parse_entries(xml);
  if (page) {
    hg_fuzz::check_entries(page->entries);
    HG_FUZZ_CHECK(page->next.empty() || ncmec::valid_next(page->next));
    // estimated_total counts NCMEC entries, and one NCMEC entry becomes several source entries
    // (one per fingerprint; a deletion one per documented type), all with its source id.
    std::set<std::string_view> entry_ids;
    for (const auto& e : page->entries) entry_ids.insert(e.source_id);
    HG_FUZZ_CHECK(page->estimated_total >= static_cast<std::int64_t>(entry_ids.size()));
    const auto again = ncmec::parse_entries(xml);
    HG_FUZZ_CHECK(again && again->entries.size() == page->entries.size() &&
                  again->next == page->next);
  }
  (void)ncmec::parse_feedback_reasons(xml);
  (void)ncmec::decode_checkpoint(xml);
  return 0;
}
