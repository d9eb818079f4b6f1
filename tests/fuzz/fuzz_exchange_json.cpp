// libFuzzer target: the JSON answers of StopNCII (FetchHashes) and ThreatExchange
// (/threat_updates), exchanges/stopncii_wire.hpp and threatexchange_wire.hpp. Byte 0 picks
// the parser (bit 0: StopNCII or ThreatExchange); the rest is the answer body, also read as a
// stored checkpoint and as a Graph API error.
//
// Invariants: a parsed page's entries satisfy source_entry's contract; StopNCII's page that
// has more records has a token; a ThreatExchange page's max_last_updated is not negative; a
// checkpoint that decodes encodes and decodes to the same.
#include "exchange_invariants.hpp"
#include "hashguard/exchanges/stopncii_wire.hpp"
#include "hashguard/exchanges/threatexchange_wire.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace stopncii = hashguard::exchanges::stopncii;
  namespace te = hashguard::exchanges::threatexchange;
  if (size == 0) return -1;
  const std::string_view json(reinterpret_cast<const char*>(data) + 1, size - 1);  // NOLINT
  if ((data[0] & 1U) == 0) {
    if (const auto page = stopncii::parse_fetch_answer(json)) {
      hg_fuzz::check_entries(page->entries);
      HG_FUZZ_CHECK(!page->has_more || !page->next_page_token.empty());
    }
    if (const auto c = stopncii::decode_checkpoint(json)) {
      const auto back = stopncii::decode_checkpoint(stopncii::encode_checkpoint(*c));
      HG_FUZZ_CHECK(back && back->start == c->start && back->token == c->token);
    }
  } else {
    if (const auto page = te::parse_updates(json)) {
      hg_fuzz::check_entries(page->entries);
      HG_FUZZ_CHECK(page->max_last_updated >= 0);
    }
    if (const auto c = te::decode_checkpoint(json)) {
      const auto back = te::decode_checkpoint(te::encode_checkpoint(*c));
      HG_FUZZ_CHECK(back && back->start == c->start && back->after == c->after &&
                    back->high == c->high && back->fetched_at == c->fetched_at);
    }
    (void)te::is_token_error(400, json);
  }
  return 0;
}
