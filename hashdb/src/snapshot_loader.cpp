#include "hashguard/hashdb/snapshot_loader.hpp"

#include "lists_internal.hpp"
#include "pg.hpp"

#include "hashguard/core/checksum.hpp"
#include "hashguard/core/hex.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/matcher/snapshot_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cstring>
#include <functional>
#include <map>
#include <span>
#include <thread>

namespace hashguard::hashdb {
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr char cache_magic[8] = {'H', 'G', 'S', 'N', 'A', 'P', '0', '2'};
constexpr std::uint32_t cache_format = 2;
constexpr std::size_t signal_count = 5;
constexpr std::size_t header_bytes = 56;
constexpr std::size_t table_entry_bytes = 24;
constexpr std::uint32_t max_sections = 4096;
constexpr std::uint64_t section_alignment = 4096;  // page: every section maps aligned

// Bytes a value of each signal has (pdq, phash, md5, sha1, sha256).
constexpr std::array<std::size_t, signal_count> value_bytes{32, 8, 16, 20, 32};

// What a database read gives, before the matcher builds: lists, then per signal the entries.
struct snapshot_data {
  std::int64_t catalog{};
  std::vector<matcher::list_info> lists;
  struct section {
    std::vector<std::int64_t> list_ids;
    std::vector<std::int64_t> entry_ids;
    std::vector<std::uint8_t> values;  // value_bytes[sig] per entry
  };
  std::array<section, signal_count> sections;
  std::vector<std::int64_t> quarantined;  // entry ids
  // Provenance of exchange-fed entries (matcher::snapshot keeps it compactly).
  struct source {
    std::int64_t entry{};
    std::int64_t exchange{};
    std::string source_id;
    std::vector<std::string> tags;
  };
  std::map<std::int64_t, std::string> exchange_names;  // exchanges.id -> name
  std::vector<source> sources;
  struct video {
    std::int64_t list_id{};
    std::int64_t entry_id{};
    std::string name;
    std::vector<matcher::video_frame_hash> frames;
  };
  std::vector<video> videos;  // vpdq lists' entries
  [[nodiscard]] std::size_t entries() const {
    std::size_t n = 0;
    for (const auto& s : sections) n += s.list_ids.size();
    return n;
  }
};

// A COPY text field as its value: backslash escapes undone (\\, \t, \n, \r, \b, \f, \v,
// octal \NNN and \xHH).
std::string copy_unescape(std::string_view f) {
  std::string out;
  out.reserve(f.size());
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '\\' || i + 1 == f.size()) {
      out += f[i];
      continue;
    }
    const char c = f[++i];
    switch (c) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'x': {
        int v = 0;
        std::size_t n = 0;
        while (n < 2 && i + 1 < f.size() && std::isxdigit(static_cast<unsigned char>(f[i + 1]))) {
          const char h = f[++i];
          v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
          ++n;
        }
        out += static_cast<char>(v);
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          int v = c - '0';
          for (int n = 0; n < 2 && i + 1 < f.size() && f[i + 1] >= '0' && f[i + 1] <= '7'; ++n) {
            v = v * 8 + (f[++i] - '0');
          }
          out += static_cast<char>(v);
        } else {
          out += c;
        }
    }
  }
  return out;
}

// The elements of a one-dimensional text[] literal ({a,"b c",NULL}); NULL elements are skipped.
std::vector<std::string> text_array_elements(std::string_view a) {
  std::vector<std::string> out;
  if (a.size() < 2 || a.front() != '{' || a.back() != '}') return out;
  a = a.substr(1, a.size() - 2);
  std::size_t i = 0;
  while (i < a.size()) {
    std::string item;
    bool quoted = false;
    if (a[i] == '"') {
      quoted = true;
      for (++i; i < a.size() && a[i] != '"'; ++i) {
        if (a[i] == '\\' && i + 1 < a.size()) ++i;
        item += a[i];
      }
      ++i;  // the closing quote
    } else {
      for (; i < a.size() && a[i] != ','; ++i) item += a[i];
    }
    if (quoted || item != "NULL") out.push_back(std::move(item));
    if (i < a.size() && a[i] == ',') ++i;
  }
  return out;
}

std::uint64_t checksum(std::span<const std::byte> b) {
  return core::checksum64(b);
}

template <class T>
void put_at(std::vector<std::byte>& out, std::size_t at, T v) {
  std::memcpy(out.data() + at, &v, sizeof v);
}
template <class T>
T get_at(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

unsigned worker_count(std::size_t bytes) {
  if (bytes < (std::size_t{64} << 20)) return 1;
  return std::clamp(std::thread::hardware_concurrency(), 1U, 4U);
}

// Runs f(i) for i in 0..n-1, largest items first, on up to `threads` threads.
template <class F>
void parallel_items(std::size_t n, unsigned threads, const std::vector<std::size_t>& order, F f) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < n; i = next++) f(order[i]);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
}

std::vector<std::size_t> largest_first(const std::vector<std::span<const std::byte>>& sections) {
  std::vector<std::size_t> order(sections.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return sections[a].size() > sections[b].size(); });
  return order;
}

// ---- writing --------------------------------------------------------------------------------

// Writes the snapshot's image (descriptor, then the matcher's sections, each page-aligned)
// straight from the snapshot's memory into a temporary file, then renames it over `path`.
// No fsync: a file torn by a crash fails its checksums on the next load and is rebuilt, and
// syncing a gigabyte would cost seconds on the reload path.
bool write_cache(const fs::path& path, std::int64_t catalog, const matcher::snapshot& snap) {
  const matcher::snapshot_image img = matcher::image_of(snap);
  std::vector<std::span<const std::byte>> sections;
  sections.push_back(img.descriptor);
  sections.insert(sections.end(), img.sections.begin(), img.sections.end());
  const auto count = static_cast<std::uint32_t>(sections.size());
  std::vector<std::byte> head(header_bytes + table_entry_bytes * count);
  std::uint64_t offset = head.size();
  std::vector<std::uint64_t> offsets(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    offset = (offset + section_alignment - 1) / section_alignment * section_alignment;
    offsets[i] = offset;
    offset += sections[i].size();
  }
  const std::uint64_t file_size = offset;
  std::vector<std::uint64_t> sums(count);
  parallel_items(count, worker_count(file_size), largest_first(sections),
                 [&](std::size_t i) { sums[i] = checksum(sections[i]); });
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t at = header_bytes + table_entry_bytes * i;
    put_at<std::uint64_t>(head, at, offsets[i]);
    put_at<std::uint64_t>(head, at + 8, sections[i].size());
    put_at<std::uint64_t>(head, at + 16, sums[i]);
  }
  std::memcpy(head.data(), cache_magic, sizeof cache_magic);
  put_at<std::uint32_t>(head, 8, cache_format);
  put_at<std::uint32_t>(head, 12, count);
  put_at<std::int64_t>(head, 16, catalog);
  put_at<std::uint64_t>(head, 24, file_size);
  put_at<std::uint64_t>(head, 32, 0);
  put_at<std::uint64_t>(head, 40, checksum(std::span<const std::byte>(head).subspan(header_bytes)));
  put_at<std::uint64_t>(head, 48, checksum(std::span<const std::byte>(head.data(), 48)));

  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  // Unique per process and thread: two loaders of one process never share a temporary file.
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid()) + "." +
                       std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const auto write_at = [fd](std::span<const std::byte> b, std::uint64_t at) {
    std::size_t done = 0;
    while (done < b.size()) {
      const ssize_t w =
          ::pwrite(fd, b.data() + done, b.size() - done, static_cast<off_t>(at + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      done += static_cast<std::size_t>(w);
    }
    return true;
  };
  bool ok = ::ftruncate(fd, static_cast<off_t>(file_size)) == 0 && write_at(head, 0);
  for (std::uint32_t i = 0; ok && i < count; ++i) ok = write_at(sections[i], offsets[i]);
  ok = ::close(fd) == 0 && ok;
  if (ok) fs::rename(tmp, path, ec);
  if (!ok || ec) {
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

// ---- reading --------------------------------------------------------------------------------

// A read-only mapping of a cache file whose header and section table are valid (cheap checks;
// the sections' checksums and the matcher's validation come later, only if the cache is
// current).
struct mapped_cache {
  std::shared_ptr<const void> mapping;  // munmap when the last snapshot using it is freed
  std::int64_t catalog{};
  std::vector<std::span<const std::byte>> sections;  // [0] = the matcher's descriptor
  std::vector<std::uint64_t> sums;
};

// Maps the file and checks its header and section table; on failure sets `problem`.
// Mapping (not reading into fresh memory) is what makes a gigabyte-sized cache load in about a
// second: the pages are the page cache's, there is no copy, and nothing is allocated. The
// snapshot's tables then live in the mapping. It is MAP_PRIVATE and read-only; the writer
// never modifies a file in place (it renames a new one over it, and the old inode stays mapped
// until its snapshot is freed). Someone else truncating the file in place while it is mapped
// would make reads fault (SIGBUS): the cache directory belongs to hashguard alone.
std::optional<mapped_cache> map_cache(const fs::path& path, std::string& problem) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    problem = "missing";
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(header_bytes)) {
    ::close(fd);
    problem = "truncated header";
    return std::nullopt;
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    problem = "cannot map the file";
    return std::nullopt;
  }
  mapped_cache m;
  m.mapping = std::shared_ptr<const void>(
      p, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
  const auto* b = static_cast<const std::byte*>(p);
  auto bad = [&problem](std::string why) -> std::optional<mapped_cache> {
    problem = std::move(why);
    return std::nullopt;
  };
  if (std::memcmp(b, cache_magic, sizeof cache_magic) != 0) return bad("bad magic");
  if (checksum(std::span<const std::byte>(b, 48)) != get_at<std::uint64_t>(b + 48)) {
    return bad("header checksum mismatch");
  }
  const auto format = get_at<std::uint32_t>(b + 8);
  const auto count = get_at<std::uint32_t>(b + 12);
  m.catalog = get_at<std::int64_t>(b + 16);
  const auto file_size = get_at<std::uint64_t>(b + 24);
  if (format != cache_format) return bad("format version " + std::to_string(format));
  if (get_at<std::uint64_t>(b + 32) != 0) return bad("reserved field set");
  if (m.catalog < 0) return bad("negative catalog version");
  if (file_size != size)
    return bad("file size " + std::to_string(size) + ", header says " + std::to_string(file_size));
  if (count == 0 || count > max_sections) return bad("section count out of range");
  const std::size_t table_end = header_bytes + table_entry_bytes * count;
  if (table_end > size) return bad("truncated section table");
  if (checksum(std::span<const std::byte>(b + header_bytes, table_end - header_bytes)) !=
      get_at<std::uint64_t>(b + 40)) {
    return bad("section table checksum mismatch");
  }
  std::uint64_t end = table_end;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::byte* e = b + header_bytes + table_entry_bytes * i;
    const auto off = get_at<std::uint64_t>(e);
    const auto len = get_at<std::uint64_t>(e + 8);
    if (off % section_alignment != 0 || off < end || off > size || len > size - off) {
      return bad("section " + std::to_string(i) + " out of place");
    }
    // The alignment padding before it is zero (no checksum covers it).
    if (std::any_of(b + end, b + off, [](std::byte x) { return x != std::byte{0}; })) {
      return bad("padding before section " + std::to_string(i) + " not zero");
    }
    end = off + len;
    m.sections.emplace_back(b + off, static_cast<std::size_t>(len));
    m.sums.push_back(get_at<std::uint64_t>(e + 16));
  }
  if (end != size) return bad("trailing bytes");
  return m;
}

// Checks every section's checksum (in parallel for large files), then lets the matcher
// validate and adopt the image. On failure sets `problem`.
core::result<std::shared_ptr<const matcher::snapshot>> snapshot_of_cache(
    const mapped_cache& m, const matcher::snapshot_options& options, std::string& problem) {
  std::size_t total = 0;
  for (const auto& s : m.sections) total += s.size();
  std::vector<char> ok(m.sections.size(), 0);
  parallel_items(m.sections.size(), worker_count(total), largest_first(m.sections),
                 [&](std::size_t i) { ok[i] = checksum(m.sections[i]) == m.sums[i] ? 1 : 0; });
  for (std::size_t i = 0; i < ok.size(); ++i) {
    if (ok[i] == 0) {
      problem = "section " + std::to_string(i) + " checksum mismatch";
      return errc::query_failed;
    }
  }
  auto snap = matcher::snapshot_from_image(
      m.sections[0], std::span<const std::span<const std::byte>>(m.sections).subspan(1), m.mapping,
      options);
  if (!snap) {
    problem = "rejected by the matcher: " + core::error_name(snap.error());
    return snap.error();
  }
  if ((*snap)->version() != static_cast<std::uint64_t>(m.catalog)) {
    problem = "snapshot version differs from the header's catalog version";
    return errc::query_failed;
  }
  return snap;
}

snapshot_data read_database(detail::connection_impl& c) {
  snapshot_data d;
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c.live());
  d.catalog = tx.exec1("SELECT coalesce(max(version), 0) FROM hash_lists")[0].as<std::int64_t>();
  std::map<std::int64_t, std::size_t> signal_of;  // list id -> signal index
  for (const auto& row : tx.exec("SELECT id, name, signal, threshold, action, version, dihedral,"
                                 " coalesce(review_threshold, -1), video_query_percent,"
                                 " video_compared_percent FROM hash_lists"
                                 " WHERE enabled AND retired_at IS NULL ORDER BY id")) {
    matcher::list_info l;
    l.id = row[0].as<std::int64_t>();
    l.name = row[1].as<std::string>();
    l.sig = core::parse_signal(row[2].as<std::string>()).value_or(core::signal::pdq);
    l.threshold = row[3].as<int>();
    l.act = core::parse_action(row[4].as<std::string>()).value_or(core::action::review);
    l.version = row[5].as<std::int64_t>();
    l.dihedral = row[6].as<bool>();
    l.review_threshold = row[7].as<int>();
    l.video_query_percent = row[8].as<double>();
    l.video_compared_percent = row[9].as<double>();
    // A vpdq list's entries are videos, read from vpdq_frames below, not from the COPY.
    if (l.sig != core::signal::vpdq) signal_of[l.id] = static_cast<std::size_t>(l.sig);
    d.lists.push_back(std::move(l));
  }
  if (d.lists.empty()) return d;
  // Room for every live entry up front (the list counts), instead of growing by doubling.
  for (const auto& row : tx.exec("SELECT signal, coalesce(sum(entries), 0) FROM hash_lists"
                                 " WHERE enabled AND retired_at IS NULL GROUP BY signal")) {
    const auto sig = core::parse_signal(row[0].as<std::string>());
    const auto n = std::min<std::int64_t>(row[1].as<std::int64_t>(), 500'000'000);
    if (!sig || n <= 0 || *sig == core::signal::vpdq) continue;
    auto& sec = d.sections[static_cast<std::size_t>(*sig)];
    sec.list_ids.reserve(static_cast<std::size_t>(n));
    sec.entry_ids.reserve(static_cast<std::size_t>(n));
    sec.values.reserve(static_cast<std::size_t>(n) * value_bytes[static_cast<std::size_t>(*sig)]);
  }
  for (const auto& row : tx.exec("SELECT id, name FROM exchanges")) {
    d.exchange_names.emplace(row[0].as<std::int64_t>(), row[1].as<std::string>());
  }
  // COPY is the fastest way out of PostgreSQL that libpqxx 6 offers; rows of disabled lists
  // and retired entries are skipped here rather than filtered by a query (COPY takes a table).
  pqxx::stream_from rows(
      tx, "hashes",
      std::vector<std::string>{"list_id", "id", "value", "retired_at", "quarantined_at",
                               "exchange_id", "source_id", "tags"});
  std::string line;
  constexpr std::size_t columns = 8;
  std::array<std::string_view, columns> f;
  while (rows.get_raw_line(line)) {
    // list_id \t id \t \\x<hex> \t retired_at|\N \t quarantined_at|\N \t exchange_id|\N
    // \t source_id|\N \t tags|\N
    std::string_view v(line);
    if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
    std::size_t n = 0;
    for (std::size_t start = 0; n < columns; ++n) {
      const auto tab = v.find('\t', start);
      if (tab == std::string_view::npos) {
        f[n++] = v.substr(start);
        break;
      }
      f[n] = v.substr(start, tab - start);
      start = tab + 1;
    }
    if (n != columns) throw abort_with{errc::query_failed, "unexpected COPY row from hashes"};
    if (f[3] != "\\N") continue;  // retired entry
    const bool quarantined = f[4] != "\\N";
    const auto list_id = core::parse_int<std::int64_t>(f[0], 0);
    const auto entry_id = core::parse_int<std::int64_t>(f[1], 0);
    if (!list_id || !entry_id) {
      throw abort_with{errc::query_failed, "unexpected ids in a COPY row"};
    }
    const auto it = signal_of.find(*list_id);
    if (it == signal_of.end()) continue;  // a disabled or retired list
    const std::size_t s = it->second;
    std::string_view hex = f[2];
    // bytea's hex form "\x..." arrives with its backslash escaped by COPY: "\\x...".
    if (hex.substr(0, 3) != "\\\\x" || hex.size() != 3 + 2 * value_bytes[s]) {
      throw abort_with{errc::query_failed, "unexpected value in a COPY row"};
    }
    hex.remove_prefix(3);
    auto& sec = d.sections[s];
    const auto at = sec.values.size();
    sec.values.resize(at + value_bytes[s]);
    if (!core::parse_hex_into(hex, std::span(sec.values).subspan(at, value_bytes[s]))) {
      throw abort_with{errc::query_failed, "bad hex in a COPY row"};
    }
    sec.list_ids.push_back(*list_id);
    sec.entry_ids.push_back(*entry_id);
    if (quarantined) d.quarantined.push_back(*entry_id);
    if (f[5] != "\\N") {
      const auto exchange = core::parse_int<std::int64_t>(f[5], 0);
      if (!exchange) throw abort_with{errc::query_failed, "unexpected exchange in a COPY row"};
      d.sources.push_back(
          {*entry_id, *exchange, f[6] == "\\N" ? "" : copy_unescape(f[6]),
           f[7] == "\\N" ? std::vector<std::string>{} : text_array_elements(copy_unescape(f[7]))});
    }
  }
  rows.complete();
  for (const auto& row :
       tx.exec("SELECT h.list_id, h.id, coalesce(h.external_id, ''), f.data FROM hashes h"
               " JOIN vpdq_frames f ON f.entry_id = h.id"
               " JOIN hash_lists l ON l.id = h.list_id"
               " WHERE l.enabled AND l.retired_at IS NULL AND l.signal = 'vpdq'"
               " AND h.retired_at IS NULL ORDER BY h.list_id, h.id")) {
    snapshot_data::video v;
    v.list_id = row[0].as<std::int64_t>();
    v.entry_id = row[1].as<std::int64_t>();
    v.name = row[2].as<std::string>();
    const std::string hex = bytea_hex(row[3]);
    auto bytes = core::parse_hex_bytes(hex, hex.size() / 2);
    auto frames = bytes ? unpack_vpdq_frames(*bytes) : std::nullopt;
    if (!frames) throw abort_with{errc::query_failed, "unexpected vpdq_frames data"};
    v.frames.reserve(frames->size());
    for (const auto& fr : *frames) v.frames.push_back({fr.hash, fr.quality, fr.timestamp});
    d.videos.push_back(std::move(v));
  }
  tx.commit();
  return d;
}

std::uint64_t load_be64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// The matcher snapshot from loaded data. Hash bytes are the hex text's bytes: PDQ's text is
// the 256-bit number words[3]:...:words[0] big-endian, pHash's the 64-bit value big-endian.
core::result<std::shared_ptr<const matcher::snapshot>> build(const snapshot_data& d,
                                                             matcher::snapshot_options options) {
  matcher::snapshot_builder b;
  for (const auto& l : d.lists) {
    if (auto r = b.add_list(l); !r) return r.error();
  }
  for (std::size_t s = 0; s < signal_count; ++s) {
    b.reserve(static_cast<core::signal>(s), d.sections[s].list_ids.size());
  }
  for (std::size_t s = 0; s < signal_count; ++s) {
    const auto& sec = d.sections[s];
    for (std::size_t i = 0; i < sec.list_ids.size(); ++i) {
      const std::uint8_t* v = sec.values.data() + i * value_bytes[s];
      core::result<void> r;
      if (s == static_cast<std::size_t>(core::signal::pdq)) {
        core::hash256 h;
        for (int w = 0; w < 4; ++w) h.words[static_cast<std::size_t>(3 - w)] = load_be64(v + 8 * w);
        r = b.add_pdq(sec.list_ids[i], sec.entry_ids[i], h);
      } else if (s == static_cast<std::size_t>(core::signal::phash)) {
        r = b.add_phash(sec.list_ids[i], sec.entry_ids[i], core::hash64{load_be64(v)});
      } else {
        r = b.add_digest(sec.list_ids[i], sec.entry_ids[i],
                         std::span<const std::uint8_t>(v, value_bytes[s]));
      }
      if (!r) return r.error();
    }
  }
  for (const auto& v : d.videos) {
    if (auto r = b.add_video(v.list_id, v.entry_id, v.name, v.frames); !r) return r.error();
  }
  for (const std::int64_t id : d.quarantined) b.quarantine(id);
  for (const auto& src : d.sources) {
    const auto name = d.exchange_names.find(src.exchange);
    // An exchange removed since its entries were delivered: the entries match without one.
    if (name == d.exchange_names.end()) continue;
    b.add_source(src.entry, name->second, src.source_id, src.tags);
  }
  options.version = static_cast<std::uint64_t>(d.catalog);
  return b.build(options);
}

}  // namespace

std::string_view to_string(snapshot_source s) noexcept {
  switch (s) {
    case snapshot_source::database: return "database";
    case snapshot_source::cache: return "cache";
    case snapshot_source::cache_offline: return "cache_offline";
  }
  return "database";
}

core::result<std::int64_t> snapshot_loader::catalog_version() {
  auto c = connection::open(options_.database_url);
  if (!c) return c.error();
  return guarded(*c, [](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    return tx.exec1("SELECT coalesce(max(version), 0) FROM hash_lists")[0].as<std::int64_t>();
  });
}

core::result<std::shared_ptr<const matcher::snapshot>> snapshot_loader::load(
    snapshot_load_report* report) {
  snapshot_load_report local;
  snapshot_load_report& rep = report != nullptr ? *report : local;
  rep = {};
  const auto describe = [&rep](const matcher::snapshot& snap) {
    rep.catalog_version = static_cast<std::int64_t>(snap.version());
    rep.lists = snap.lists().size();
    rep.entries = 0;
    for (std::size_t s = 0; s < core::signal_names.size(); ++s) {
      rep.entries += snap.size(static_cast<core::signal>(s));
    }
  };
  // From the mapped cache: checksums (the read), then the matcher's validation (the build).
  const auto from_cache =
      [&](const mapped_cache& m,
          clock_type::time_point t0) -> core::result<std::shared_ptr<const matcher::snapshot>> {
    auto snap = snapshot_of_cache(m, options_.matcher, rep.cache_problem);
    rep.read_time = clock_type::now() - t0;
    if (!snap) return snap.error();
    rep.build_time = (*snap)->build_time();
    rep.read_time -= rep.build_time;
    describe(**snap);
    return snap;
  };

  auto t0 = clock_type::now();
  std::optional<mapped_cache> mapped;
  if (!options_.cache_file.empty()) mapped = map_cache(options_.cache_file, rep.cache_problem);

  auto conn = connection::open(options_.database_url);
  if (!conn) {
    if (!mapped || !options_.trust_cache_when_offline) return conn.error();
    auto snap = from_cache(*mapped, t0);
    if (!snap) return conn.error();
    rep.source = snapshot_source::cache_offline;
    return snap;
  }
  auto catalog = guarded(*conn, [](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    return tx.exec1("SELECT coalesce(max(version), 0) FROM hash_lists")[0].as<std::int64_t>();
  });
  if (!catalog) return catalog.error();
  if (mapped && mapped->catalog == *catalog) {
    auto snap = from_cache(*mapped, t0);
    if (snap) {
      rep.source = snapshot_source::cache;
      return snap;
    }
    // A corrupt cache: rebuilt from the database below, never trusted.
  } else if (mapped) {
    rep.cache_problem = "stale";
  }
  mapped.reset();

  t0 = clock_type::now();
  auto fresh = guarded(*conn, [&](pqxx::connection&) { return read_database(conn->impl()); });
  if (!fresh) return fresh.error();
  rep.source = snapshot_source::database;
  rep.read_time = clock_type::now() - t0;

  t0 = clock_type::now();
  auto snap = build(*fresh, options_.matcher);
  rep.build_time = clock_type::now() - t0;
  if (!snap) return snap.error();
  describe(**snap);
  // The vPDQ video index is no part of snapshot images: such a snapshot is never cached (a
  // cache of an older catalog stays stale and unused).
  if (!options_.cache_file.empty() && (*snap)->videos() == nullptr) {
    t0 = clock_type::now();
    rep.cache_written = write_cache(options_.cache_file, fresh->catalog, **snap);
    rep.cache_write_time = clock_type::now() - t0;
  }
  return snap;
}

core::result<bool> snapshot_loader::refresh(matcher::snapshot_holder& holder,
                                            snapshot_load_report* report) {
  const auto current = holder.load();
  if (current) {
    auto catalog = catalog_version();
    if (!catalog) return core::result<bool>(boost::system::in_place_error, catalog.error());
    if (static_cast<std::uint64_t>(*catalog) == current->version()) return false;
  }
  auto next = load(report);
  if (!next) return core::result<bool>(boost::system::in_place_error, next.error());
  if (current && (*next)->version() == current->version()) return false;
  holder.publish(std::move(*next));
  return true;
}

}  // namespace hashguard::hashdb
