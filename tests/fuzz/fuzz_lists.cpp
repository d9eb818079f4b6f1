// libFuzzer target: the hash-list parsers of hashdb/list_formats.hpp, every format. The first
// byte picks the format (bits 0-1: hex, te-local, csv, hashguard) and the list's signal (the
// rest, modulo 5: pdq, phash, md5, sha1, sha256); the other bytes are the file, fed line by line
// as the list store feeds them, and also to detect_list_format.
//
// Invariants: every accepted entry is lowercase hex of its signal's length; every rejection
// carries one of the stable codes; and export then import gives back what was imported: each
// entry written with format_entry (under format_header, for the list's metadata) parses to the
// same entry, and hashguard metadata written with hashguard_header reads back the same.
#include "fuzz_support.hpp"
#include "hashguard/hashdb/list_formats.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace hashdb = hashguard::hashdb;
namespace core = hashguard::core;

constexpr std::array<core::signal, 5> signals{core::signal::pdq, core::signal::phash,
                                              core::signal::md5, core::signal::sha1,
                                              core::signal::sha256};

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

bool known_reason(std::string_view reason) {
  for (const std::string_view code :
       {hashdb::reject::bad_hex, hashdb::reject::wrong_length, hashdb::reject::unknown_signal,
        hashdb::reject::signal_mismatch, hashdb::reject::bad_quality, hashdb::reject::bad_field,
        hashdb::reject::no_header, hashdb::reject::bad_metadata}) {
    if (reason.size() > code.size() + 1 && reason.substr(0, code.size()) == code &&
        reason.substr(code.size(), 2) == ": ") {
      return true;
    }
  }
  return false;
}

// Parses `text` (an export) and returns its entries; fails on any rejection.
std::vector<hashdb::list_entry> reimport(hashdb::list_format format, core::signal sig,
                                         const std::string& text,
                                         std::optional<hashdb::list_metadata>* meta = nullptr) {
  hashdb::list_parser p(format, sig);
  std::vector<hashdb::list_entry> out;
  for (const auto line : lines_of(text)) {
    auto r = p.parse_line(line);
    if (r.kind == hashdb::line_kind::rejected) {
      std::fprintf(stderr, "re-import of:\n%s\nrejected: %s\n", text.c_str(), r.reason.c_str());
      hg_fuzz::fail("an exported line did not import");
    }
    if (r.kind == hashdb::line_kind::entry) out.push_back(std::move(r.entry));
  }
  if (meta != nullptr) *meta = p.metadata();
  return out;
}

bool same_meta(const hashdb::list_metadata& a, const hashdb::list_metadata& b) {
  return a.name == b.name && a.source == b.source && a.sig == b.sig && a.threshold == b.threshold &&
         a.act == b.act && a.dihedral == b.dihedral && a.version == b.version &&
         a.entries == b.entries;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return -1;
  const auto format = static_cast<hashdb::list_format>(data[0] & 3U);
  const core::signal sig = signals[(data[0] >> 2U) % signals.size()];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);  // NOLINT

  (void)hashdb::detect_list_format(text);

  hashdb::list_parser parser(format, sig);
  std::vector<hashdb::list_entry> entries;
  for (const auto line : lines_of(text)) {
    auto r = parser.parse_line(line);
    if (r.kind == hashdb::line_kind::rejected) {
      HG_FUZZ_CHECK(known_reason(r.reason));
    } else if (r.kind == hashdb::line_kind::entry) {
      HG_FUZZ_CHECK(r.entry.value.size() == core::signal_hex_length(sig));
      for (const char c : r.entry.value) {
        HG_FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
      }
      if (r.entry.quality) HG_FUZZ_CHECK(*r.entry.quality >= 0 && *r.entry.quality <= 100);
      entries.push_back(std::move(r.entry));
    }
  }

  // Export what was imported, in the same format, and import it again.
  hashdb::list_metadata meta = parser.metadata().value_or(hashdb::list_metadata{});
  meta.sig = sig;
  std::string exported = hashdb::format_header(format, meta);
  for (const auto& e : entries) exported += hashdb::format_entry(format, sig, e);
  std::optional<hashdb::list_metadata> meta_back;
  const auto back = reimport(format, sig, exported, &meta_back);
  HG_FUZZ_CHECK(back.size() == entries.size());
  const bool rich = format == hashdb::list_format::csv || format == hashdb::list_format::hashguard;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    HG_FUZZ_CHECK(back[i].value == entries[i].value);
    HG_FUZZ_CHECK(back[i].external_id == entries[i].external_id);
    if (rich) {
      HG_FUZZ_CHECK(back[i].quality == entries[i].quality);
      HG_FUZZ_CHECK(back[i].note == entries[i].note);
    }
  }
  if (format == hashdb::list_format::hashguard && parser.metadata()) {
    HG_FUZZ_CHECK(meta_back.has_value() && same_meta(*meta_back, meta));
  }
  return 0;
}
