#include "hashguard/matcher/snapshot_file.hpp"

#include "hashguard/matcher/kernel.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

namespace hashguard::matcher {
namespace {

constexpr char image_magic[8] = {'H', 'G', 'M', 'I', 'M', 'G', '0', '1'};
// 2: each list carries its review band; a last section holds the quarantined entry ids.
// 3: entry provenance: exchange names after the lists, two last sections (source rows, text).
constexpr std::uint32_t image_version = 3;
constexpr std::uint32_t max_exchanges = 1U << 16;
constexpr std::uint32_t max_lists = 1'000'000;
constexpr std::uint32_t max_name = 1024;
constexpr std::uint64_t max_entries = 0xFFFFFFFFULL;  // entry positions are u32

constexpr std::size_t digest_length(std::size_t table) {
  return table == 0 ? 16 : table == 1 ? 20 : 32;
}
constexpr core::signal digest_signal(std::size_t table) {
  return table == 0 ? core::signal::md5 : table == 1 ? core::signal::sha1 : core::signal::sha256;
}

template <class T>
void put(std::vector<std::byte>& out, T v) {
  const auto at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

class reader {
 public:
  explicit reader(std::span<const std::byte> b) : b_(b) {}
  template <class T>
  bool get(T& v) {
    if (b_.size() - at_ < sizeof v) return false;
    std::memcpy(&v, b_.data() + at_, sizeof v);
    at_ += sizeof v;
    return true;
  }
  bool bytes(std::size_t n, const std::byte*& p) {
    if (b_.size() - at_ < n) return false;
    p = b_.data() + at_;
    at_ += n;
    return true;
  }
  [[nodiscard]] bool done() const { return at_ == b_.size(); }

 private:
  std::span<const std::byte> b_;
  std::size_t at_{0};
};

template <class T>
std::span<const std::byte> bytes_of(const table_buffer<T>& t) {
  return std::as_bytes(t.span());
}

// A typed view of a section, when its size is exactly count * sizeof(T) and it is aligned.
template <class T>
bool view_of(std::span<const std::byte> section, std::size_t count,
             const std::shared_ptr<const void>& owner, table_buffer<T>& out) {
  if (section.size() != count * sizeof(T)) return false;
  if (reinterpret_cast<std::uintptr_t>(section.data()) % alignof(T) != 0) return false;
  out = table_buffer<T>::view(reinterpret_cast<const T*>(static_cast<const void*>(section.data())),
                              count, owner);
  return true;
}

bool positions_valid(const table_buffer<std::uint32_t>& pos, const std::vector<list_info>& lists,
                     core::signal sig) {
  for (std::size_t i = 0; i < pos.size(); ++i) {
    const std::uint32_t p = pos[i];
    if (p >= lists.size() || lists[p].sig != sig) return false;
  }
  return true;
}

}  // namespace

snapshot_image image_of(const snapshot& s) {
  snapshot_image img;
  auto& d = img.descriptor;
  d.insert(d.end(), reinterpret_cast<const std::byte*>(image_magic),
           reinterpret_cast<const std::byte*>(image_magic) + sizeof image_magic);
  put<std::uint32_t>(d, image_version);
  put<std::uint32_t>(d, static_cast<std::uint32_t>(s.lists_.size()));
  put<std::uint64_t>(d, s.version_);
  put<std::uint64_t>(d, s.pdq_.size());
  put<std::uint32_t>(d, s.pdq_.slot_count());
  put<std::uint32_t>(d, 0);
  put<std::uint64_t>(d, s.phash_.size());
  for (const auto& t : s.digests_) put<std::uint64_t>(d, t.size());
  put<std::uint64_t>(d, s.quarantined_.size());
  put<std::uint64_t>(d, s.sources_.size());
  put<std::uint64_t>(d, s.source_text_.size());
  put<std::uint32_t>(d, static_cast<std::uint32_t>(s.exchanges_.size()));
  put<std::uint32_t>(d, 0);
  for (const list_info& l : s.lists_) {
    put<std::int64_t>(d, l.id);
    put<std::uint8_t>(d, static_cast<std::uint8_t>(l.sig));
    put<std::uint8_t>(d, static_cast<std::uint8_t>(l.act));
    put<std::uint8_t>(d, l.dihedral ? 1 : 0);
    put<std::uint8_t>(d, 0);
    put<std::int32_t>(d, l.threshold);
    put<std::int32_t>(d, l.review_threshold);
    put<std::int64_t>(d, l.version);
    put<std::uint32_t>(d, static_cast<std::uint32_t>(l.name.size()));
    const auto* name = reinterpret_cast<const std::byte*>(l.name.data());
    d.insert(d.end(), name, name + l.name.size());
  }
  for (const std::string& x : s.exchanges_) {
    put<std::uint32_t>(d, static_cast<std::uint32_t>(x.size()));
    const auto* name = reinterpret_cast<const std::byte*>(x.data());
    d.insert(d.end(), name, name + x.size());
  }
  auto& sec = img.sections;
  sec.push_back(std::as_bytes(std::span<const std::uint64_t>(
      s.pdq_.linear().words(), s.pdq_.size() * linear_index256::words_per_hash)));
  sec.push_back(bytes_of(s.pdq_list_));
  sec.push_back(bytes_of(s.pdq_entry_));
  for (const auto& t : s.pdq_.table_sections()) sec.push_back(t);
  sec.push_back(std::as_bytes(std::span<const std::uint64_t>(s.phash_.words(), s.phash_.size())));
  sec.push_back(bytes_of(s.phash_list_));
  sec.push_back(bytes_of(s.phash_entry_));
  for (const auto& t : s.digests_) sec.push_back(bytes_of(t));
  sec.push_back(bytes_of(s.quarantined_));
  sec.push_back(bytes_of(s.sources_));
  sec.push_back(bytes_of(s.source_text_));
  return img;
}

core::result<std::shared_ptr<const snapshot>> snapshot_from_image(
    std::span<const std::byte> descriptor, std::span<const std::span<const std::byte>> sections,
    const std::shared_ptr<const void>& owner, const snapshot_options& options) {
  const auto start = std::chrono::steady_clock::now();
  const kernel* k = options.k;
  if (k == nullptr) {
    auto chosen = startup_kernel();
    if (!chosen) return chosen.error();
    k = *chosen;
  }
  reader r(descriptor);
  const std::byte* magic = nullptr;
  std::uint32_t version = 0;
  std::uint32_t list_count = 0;
  std::uint64_t snap_version = 0;
  std::uint64_t pdq_n = 0;
  std::uint32_t slots = 0;
  std::uint32_t reserved = 1;
  std::uint64_t phash_n = 0;
  std::uint64_t digest_n[3] = {};
  std::uint64_t quarantined_n = 0;
  std::uint64_t sources_n = 0;
  std::uint64_t text_n = 0;
  std::uint32_t exchange_count = 0;
  std::uint32_t reserved2 = 1;
  if (!r.bytes(sizeof image_magic, magic) ||
      std::memcmp(magic, image_magic, sizeof image_magic) != 0 || !r.get(version) ||
      version != image_version || !r.get(list_count) || list_count > max_lists ||
      !r.get(snap_version) || !r.get(pdq_n) || !r.get(slots) || !r.get(reserved) || reserved != 0 ||
      !r.get(phash_n) || !r.get(digest_n[0]) || !r.get(digest_n[1]) || !r.get(digest_n[2]) ||
      !r.get(quarantined_n) || !r.get(sources_n) || !r.get(text_n) || !r.get(exchange_count) ||
      exchange_count > max_exchanges || !r.get(reserved2) || reserved2 != 0) {
    return errc::bad_image;
  }
  if (pdq_n > max_entries || phash_n > max_entries || digest_n[0] > max_entries ||
      digest_n[1] > max_entries || digest_n[2] > max_entries || quarantined_n > max_entries ||
      sources_n > 5 * max_entries || text_n > snapshot::source_value_mask) {
    return errc::bad_image;
  }
  std::vector<list_info> lists;
  lists.reserve(list_count);
  for (std::uint32_t i = 0; i < list_count; ++i) {
    list_info l;
    std::uint8_t sig = 0;
    std::uint8_t act = 0;
    std::uint8_t dihedral = 0;
    std::uint8_t pad = 1;
    std::int32_t threshold = 0;
    std::int32_t review_threshold = 0;
    std::uint32_t name_len = 0;
    const std::byte* name = nullptr;
    if (!r.get(l.id) || !r.get(sig) || !r.get(act) || !r.get(dihedral) || !r.get(pad) ||
        !r.get(threshold) || !r.get(review_threshold) || !r.get(l.version) || !r.get(name_len) ||
        name_len > max_name || !r.bytes(name_len, name)) {
      return errc::bad_image;
    }
    if (sig >= core::signal_names.size() || act >= core::action_names.size() || dihedral > 1 ||
        pad != 0) {
      return errc::bad_image;
    }
    l.sig = static_cast<core::signal>(sig);
    const int max = l.sig == core::signal::pdq ? 256 : l.sig == core::signal::phash ? 64 : 0;
    if (threshold < 0 || threshold > max) return errc::bad_image;
    // As the builder leaves it: -1 (no band) or above the threshold, within the signal's bits.
    if (review_threshold != -1 && (review_threshold <= threshold || review_threshold > max)) {
      return errc::bad_image;
    }
    if (!lists.empty() && l.id <= lists.back().id) return errc::bad_image;
    l.act = static_cast<core::action>(act);
    l.dihedral = dihedral == 1;
    l.threshold = threshold;
    l.review_threshold = review_threshold;
    l.name.assign(reinterpret_cast<const char*>(name), name_len);
    lists.push_back(std::move(l));
  }
  std::vector<std::string> exchanges;
  exchanges.reserve(exchange_count);
  for (std::uint32_t i = 0; i < exchange_count; ++i) {
    std::uint32_t len = 0;
    const std::byte* name = nullptr;
    if (!r.get(len) || len > max_name || !r.bytes(len, name)) return errc::bad_image;
    exchanges.emplace_back(reinterpret_cast<const char*>(name), len);
  }
  if (!r.done()) return errc::bad_image;

  const auto mih_sizes = mih_index::table_section_sizes(pdq_n, slots);
  if (mih_sizes.empty() || sections.size() != 3 + mih_sizes.size() + 3 + 3 + 1 + 2) {
    return errc::bad_image;
  }
  std::size_t at = 0;
  table_buffer<std::uint64_t> pdq_words;
  table_buffer<std::uint32_t> pdq_list;
  table_buffer<std::int64_t> pdq_entry;
  if (!view_of(sections[at++], pdq_n * 4, owner, pdq_words) ||
      !view_of(sections[at++], pdq_n, owner, pdq_list) ||
      !view_of(sections[at++], pdq_n, owner, pdq_entry)) {
    return errc::bad_image;
  }
  const auto mih_sections = sections.subspan(at, mih_sizes.size());
  at += mih_sizes.size();
  table_buffer<std::uint64_t> phash_words;
  table_buffer<std::uint32_t> phash_list;
  table_buffer<std::int64_t> phash_entry;
  if (!view_of(sections[at++], phash_n, owner, phash_words) ||
      !view_of(sections[at++], phash_n, owner, phash_list) ||
      !view_of(sections[at++], phash_n, owner, phash_entry)) {
    return errc::bad_image;
  }
  std::array<table_buffer<snapshot::digest_entry>, 3> digests;
  for (std::size_t t = 0; t < 3; ++t) {
    if (!view_of(sections[at++], digest_n[t], owner, digests[t])) return errc::bad_image;
  }
  table_buffer<std::int64_t> quarantined;
  if (!view_of(sections[at++], quarantined_n, owner, quarantined)) return errc::bad_image;
  for (std::size_t i = 1; i < quarantined.size(); ++i) {
    if (quarantined[i] <= quarantined[i - 1]) return errc::bad_image;  // binary-searched
  }
  // Source rows: binary-searched by entry, each naming a known exchange. Text records are
  // bounds-checked where they are read (snapshot::source_of), not here.
  table_buffer<snapshot::source_row> sources;
  table_buffer<std::uint8_t> source_text;
  if (!view_of(sections[at++], sources_n, owner, sources) ||
      !view_of(sections[at++], text_n, owner, source_text)) {
    return errc::bad_image;
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (i > 0 && sources[i].entry <= sources[i - 1].entry) return errc::bad_image;
    if ((sources[i].ref >> 48) >= exchanges.size()) return errc::bad_image;
  }
  if (!positions_valid(pdq_list, lists, core::signal::pdq) ||
      !positions_valid(phash_list, lists, core::signal::phash)) {
    return errc::bad_image;
  }
  for (std::size_t t = 0; t < 3; ++t) {
    const auto& table = digests[t];
    const std::size_t len = digest_length(t);
    for (std::size_t i = 0; i < table.size(); ++i) {
      const snapshot::digest_entry& e = table[i];
      if (e.list >= lists.size() || lists[e.list].sig != digest_signal(t) || e.reserved != 0) {
        return errc::bad_image;
      }
      if (std::any_of(e.bytes.begin() + static_cast<std::ptrdiff_t>(len), e.bytes.end(),
                      [](std::uint8_t b) { return b != 0; })) {
        return errc::bad_image;
      }
      if (i > 0 && e.bytes < table[i - 1].bytes) return errc::bad_image;
    }
  }
  auto pdq = mih_index::adopt(linear_index256(std::move(pdq_words), *k), slots, mih_sections, owner,
                              options.mih);
  if (!pdq) return pdq.error();

  std::shared_ptr<snapshot> snap(
      new snapshot(std::move(*pdq), linear_index64(std::move(phash_words), *k), *k));
  snap->version_ = snap_version;
  for (const list_info& l : lists) {
    if (l.sig == core::signal::pdq) {
      snap->pdq_radius_ = std::max(snap->pdq_radius_, l.search_radius());
    }
    if (l.sig == core::signal::phash) {
      snap->phash_radius_ = std::max(snap->phash_radius_, l.search_radius());
    }
  }
  snap->lists_ = std::move(lists);
  snap->pdq_list_ = std::move(pdq_list);
  snap->pdq_entry_ = std::move(pdq_entry);
  snap->phash_list_ = std::move(phash_list);
  snap->phash_entry_ = std::move(phash_entry);
  snap->digests_ = std::move(digests);
  snap->quarantined_ = std::move(quarantined);
  snap->exchanges_ = std::move(exchanges);
  snap->sources_ = std::move(sources);
  snap->source_text_ = std::move(source_text);
  snap->build_time_ = std::chrono::steady_clock::now() - start;
  return std::shared_ptr<const snapshot>(std::move(snap));
}

}  // namespace hashguard::matcher
