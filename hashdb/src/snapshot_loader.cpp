#include "hashguard/hashdb/snapshot_loader.hpp"

#include "pg.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>
#include <map>

namespace hashguard::hashdb {
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr char cache_magic[8] = {'H', 'G', 'S', 'N', 'A', 'P', '0', '1'};
constexpr std::uint32_t cache_format = 1;
constexpr std::size_t signal_count = 5;
constexpr std::uint64_t max_lists = 100'000;
constexpr std::size_t max_name = 64;

// Bytes a value of each signal has (pdq, phash, md5, sha1, sha256).
constexpr std::array<std::size_t, signal_count> value_bytes{32, 8, 16, 20, 32};

// What a load reads, before the matcher builds: lists, then per signal the entries.
struct snapshot_data {
  std::int64_t catalog{};
  std::vector<matcher::list_info> lists;
  struct section {
    std::vector<std::int64_t> list_ids;
    std::vector<std::int64_t> entry_ids;
    std::vector<std::uint8_t> values;  // value_bytes[sig] per entry
  };
  std::array<section, signal_count> sections;
  [[nodiscard]] std::size_t entries() const {
    std::size_t n = 0;
    for (const auto& s : sections) n += s.list_ids.size();
    return n;
  }
};

// 64-bit word-at-a-time checksum: detects corruption (not an adversary: the cache lives in the
// node's own data directory).
std::uint64_t checksum(const std::uint8_t* p, std::size_t n) {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, 8);
    h ^= w;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 32;
  }
  for (; i < n; ++i) {
    h ^= p[i];
    h *= 0xC4CEB9FE1A85EC53ULL;
  }
  return h ^ (h >> 29);
}

// --- binary writing and reading (little-endian: x86-64 is the only target) ---------------

template <class T>
void put(std::vector<std::uint8_t>& out, T v) {
  const auto at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

void append(std::vector<std::uint8_t>& out, const void* p, std::size_t n) {
  const auto at = out.size();
  out.resize(at + n);
  if (n > 0) std::memcpy(out.data() + at, p, n);
}

class reader {
 public:
  reader(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  template <class T>
  bool get(T& v) {
    if (n_ - at_ < sizeof v) return false;
    std::memcpy(&v, p_ + at_, sizeof v);
    at_ += sizeof v;
    return true;
  }
  bool bytes(std::size_t count, const std::uint8_t*& out) {
    if (n_ - at_ < count) return false;
    out = p_ + at_;
    at_ += count;
    return true;
  }
  [[nodiscard]] std::size_t left() const { return n_ - at_; }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t at_{0};
};

std::vector<std::uint8_t> encode(const snapshot_data& d) {
  std::vector<std::uint8_t> out;
  std::size_t size = 64 + d.lists.size() * 96;
  for (std::size_t s = 0; s < signal_count; ++s) {
    size += 8 + d.sections[s].list_ids.size() * (16 + value_bytes[s]);
  }
  out.reserve(size + 8);
  append(out, cache_magic, sizeof cache_magic);
  put<std::uint32_t>(out, cache_format);
  put<std::uint32_t>(out, 0);
  put<std::int64_t>(out, d.catalog);
  put<std::uint64_t>(out, d.lists.size());
  put<std::uint64_t>(out, d.entries());
  for (const auto& l : d.lists) {
    put<std::int64_t>(out, l.id);
    put<std::uint8_t>(out, static_cast<std::uint8_t>(l.sig));
    put<std::uint8_t>(out, static_cast<std::uint8_t>(l.act));
    put<std::uint8_t>(out, l.dihedral ? 1 : 0);
    put<std::uint8_t>(out, 0);
    put<std::int32_t>(out, l.threshold);
    put<std::int64_t>(out, l.version);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(l.name.size()));
    append(out, l.name.data(), l.name.size());
  }
  for (std::size_t s = 0; s < signal_count; ++s) {
    const auto& sec = d.sections[s];
    put<std::uint64_t>(out, sec.list_ids.size());
    for (std::size_t i = 0; i < sec.list_ids.size(); ++i) {
      put<std::int64_t>(out, sec.list_ids[i]);
      put<std::int64_t>(out, sec.entry_ids[i]);
      const auto* v = sec.values.data() + i * value_bytes[s];
      append(out, v, value_bytes[s]);
    }
  }
  put<std::uint64_t>(out, checksum(out.data(), out.size()));
  return out;
}

// Validates every field; on failure returns nullopt with `problem` set.
std::optional<snapshot_data> decode(const std::vector<std::uint8_t>& file, std::string& problem) {
  auto bad = [&problem](std::string why) -> std::optional<snapshot_data> {
    problem = std::move(why);
    return std::nullopt;
  };
  if (file.size() < 8 + 4 + 4 + 8 + 8 + 8 + 8) return bad("truncated header");
  if (std::memcmp(file.data(), cache_magic, 8) != 0) return bad("bad magic");
  std::uint64_t stored_sum = 0;
  std::memcpy(&stored_sum, file.data() + file.size() - 8, 8);
  if (checksum(file.data(), file.size() - 8) != stored_sum) return bad("checksum mismatch");
  reader r(file.data() + 8, file.size() - 16);
  std::uint32_t format = 0;
  std::uint32_t zero = 1;
  snapshot_data d;
  std::uint64_t list_count = 0;
  std::uint64_t entry_count = 0;
  if (!r.get(format) || !r.get(zero) || !r.get(d.catalog) || !r.get(list_count) ||
      !r.get(entry_count)) {
    return bad("truncated header");
  }
  if (format != cache_format) return bad("format version " + std::to_string(format));
  if (zero != 0) return bad("reserved field set");
  if (d.catalog < 0) return bad("negative catalog version");
  if (list_count > max_lists) return bad("list count out of range");
  std::map<std::int64_t, core::signal> list_signal;
  for (std::uint64_t i = 0; i < list_count; ++i) {
    matcher::list_info l;
    std::uint8_t sig = 0, act = 0, dihedral = 0, pad = 1;
    std::int32_t threshold = 0;
    std::uint32_t name_len = 0;
    const std::uint8_t* name = nullptr;
    if (!r.get(l.id) || !r.get(sig) || !r.get(act) || !r.get(dihedral) || !r.get(pad) ||
        !r.get(threshold) || !r.get(l.version) || !r.get(name_len)) {
      return bad("truncated list table");
    }
    if (sig >= signal_count || act >= core::action_names.size() || dihedral > 1 || pad != 0 ||
        threshold < 0 || threshold > 256 || l.version < 0 || name_len > max_name ||
        !r.bytes(name_len, name)) {
      return bad("bad list record " + std::to_string(i));
    }
    l.sig = static_cast<core::signal>(sig);
    l.act = static_cast<core::action>(act);
    l.dihedral = dihedral == 1;
    l.threshold = threshold;
    l.name.assign(reinterpret_cast<const char*>(name), name_len);
    if (!list_signal.emplace(l.id, l.sig).second) return bad("duplicate list id");
    d.lists.push_back(std::move(l));
  }
  std::uint64_t total = 0;
  for (std::size_t s = 0; s < signal_count; ++s) {
    std::uint64_t count = 0;
    if (!r.get(count)) return bad("truncated section header");
    const std::size_t record = 16 + value_bytes[s];
    if (count > r.left() / record) return bad("section count exceeds the file");
    auto& sec = d.sections[s];
    sec.list_ids.resize(count);
    sec.entry_ids.resize(count);
    sec.values.resize(count * value_bytes[s]);
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint8_t* v = nullptr;
      r.get(sec.list_ids[i]);
      r.get(sec.entry_ids[i]);
      r.bytes(value_bytes[s], v);
      std::memcpy(sec.values.data() + i * value_bytes[s], v, value_bytes[s]);
      const auto it = list_signal.find(sec.list_ids[i]);
      if (it == list_signal.end() || static_cast<std::size_t>(it->second) != s) {
        return bad("entry of an unknown list or of another signal");
      }
    }
    total += count;
  }
  if (total != entry_count) return bad("entry count mismatch");
  if (r.left() != 0) return bad("trailing bytes");
  return d;
}

std::optional<std::vector<std::uint8_t>> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size < 0) return std::nullopt;
  in.seekg(0);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(size));
  if (!in.read(reinterpret_cast<char*>(out.data()), size)) return std::nullopt;
  return out;
}

bool write_file_atomically(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      fs::remove(tmp, ec);
      return false;
    }
    done += static_cast<std::size_t>(w);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    fs::remove(tmp, ec);
    return false;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return false;
  }
  if (path.has_parent_path()) {
    const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      (void)::fsync(dir);
      ::close(dir);
    }
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_int64(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

snapshot_data read_database(detail::connection_impl& c) {
  snapshot_data d;
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c.live());
  d.catalog = tx.exec1("SELECT coalesce(max(version), 0) FROM hash_lists")[0].as<std::int64_t>();
  std::map<std::int64_t, std::size_t> signal_of;  // list id -> signal index
  for (const auto& row :
       tx.exec("SELECT id, name, signal, threshold, action, version, dihedral FROM hash_lists"
               " WHERE enabled AND retired_at IS NULL ORDER BY id")) {
    matcher::list_info l;
    l.id = row[0].as<std::int64_t>();
    l.name = row[1].as<std::string>();
    l.sig = core::parse_signal(row[2].as<std::string>()).value_or(core::signal::pdq);
    l.threshold = row[3].as<int>();
    l.act = core::parse_action(row[4].as<std::string>()).value_or(core::action::review);
    l.version = row[5].as<std::int64_t>();
    l.dihedral = row[6].as<bool>();
    signal_of[l.id] = static_cast<std::size_t>(l.sig);
    d.lists.push_back(std::move(l));
  }
  if (d.lists.empty()) return d;
  // COPY is the fastest way out of PostgreSQL that libpqxx 6 offers; rows of disabled lists
  // and retired entries are skipped here rather than filtered by a query (COPY takes a table).
  pqxx::stream_from rows(tx, "hashes",
                         std::vector<std::string>{"list_id", "id", "value", "retired_at"});
  std::string line;
  while (rows.get_raw_line(line)) {
    // list_id \t id \t \\x<hex> \t retired_at|\N
    std::string_view v(line);
    if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
    const auto t1 = v.find('\t');
    const auto t2 = v.find('\t', t1 + 1);
    const auto t3 = v.find('\t', t2 + 1);
    if (t1 == std::string_view::npos || t2 == std::string_view::npos ||
        t3 == std::string_view::npos) {
      throw abort_with{errc::query_failed, "unexpected COPY row from hashes"};
    }
    if (v.substr(t3 + 1) != "\\N") continue;  // retired entry
    std::int64_t list_id = 0;
    std::int64_t entry_id = 0;
    if (!parse_int64(v.substr(0, t1), list_id) ||
        !parse_int64(v.substr(t1 + 1, t2 - t1 - 1), entry_id)) {
      throw abort_with{errc::query_failed, "unexpected ids in a COPY row"};
    }
    const auto it = signal_of.find(list_id);
    if (it == signal_of.end()) continue;  // a disabled or retired list
    const std::size_t s = it->second;
    std::string_view hex = v.substr(t2 + 1, t3 - t2 - 1);
    // bytea's hex form "\x..." arrives with its backslash escaped by COPY: "\\x...".
    if (hex.substr(0, 3) != "\\\\x" || hex.size() != 3 + 2 * value_bytes[s]) {
      throw abort_with{errc::query_failed, "unexpected value in a COPY row"};
    }
    hex.remove_prefix(3);
    auto& sec = d.sections[s];
    const auto at = sec.values.size();
    sec.values.resize(at + value_bytes[s]);
    for (std::size_t i = 0; i < value_bytes[s]; ++i) {
      const int hi = hex_value(hex[2 * i]);
      const int lo = hex_value(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) throw abort_with{errc::query_failed, "bad hex in a COPY row"};
      sec.values[at + i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    sec.list_ids.push_back(list_id);
    sec.entry_ids.push_back(entry_id);
  }
  rows.complete();
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
  auto t0 = clock_type::now();

  std::optional<snapshot_data> cached;
  if (!options_.cache_file.empty()) {
    if (auto bytes = read_file(options_.cache_file)) {
      cached = decode(*bytes, rep.cache_problem);
    } else {
      rep.cache_problem = "missing";
    }
  }

  auto conn = connection::open(options_.database_url);
  std::optional<snapshot_data> data;
  if (!conn) {
    if (!cached || !options_.trust_cache_when_offline) return conn.error();
    rep.source = snapshot_source::cache_offline;
    data = std::move(cached);
  } else {
    auto catalog = guarded(*conn, [](pqxx::connection& pc) {
      pqxx::read_transaction tx(pc);
      return tx.exec1("SELECT coalesce(max(version), 0) FROM hash_lists")[0].as<std::int64_t>();
    });
    if (!catalog) return catalog.error();
    if (cached && cached->catalog == *catalog) {
      rep.source = snapshot_source::cache;
      data = std::move(cached);
    } else {
      if (cached) rep.cache_problem = "stale";
      auto fresh = guarded(*conn, [&](pqxx::connection&) { return read_database(conn->impl()); });
      if (!fresh) return fresh.error();
      data = std::move(*fresh);
      rep.source = snapshot_source::database;
    }
  }
  rep.read_time = clock_type::now() - t0;
  rep.catalog_version = data->catalog;
  rep.lists = data->lists.size();
  rep.entries = data->entries();

  t0 = clock_type::now();
  auto snap = build(*data, options_.matcher);
  rep.build_time = clock_type::now() - t0;
  if (!snap) {
    if (rep.source == snapshot_source::database) return snap.error();
    // Cache content the matcher refuses (a threshold out of range...) is corruption: rebuild
    // from the database when it is there.
    if (!conn) return snap.error();
    rep.cache_problem = "rejected by the matcher: " + core::error_name(snap.error());
    std::error_code ec;
    if (!options_.cache_file.empty()) fs::remove(options_.cache_file, ec);
    return load(report);
  }
  if (rep.source == snapshot_source::database && !options_.cache_file.empty()) {
    rep.cache_written = write_file_atomically(options_.cache_file, encode(*data));
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

snapshot_refresher::snapshot_refresher(snapshot_load_options options,
                                       matcher::snapshot_holder& holder,
                                       std::chrono::milliseconds interval)
    : loader_(std::move(options)), holder_(holder), interval_(interval) {
  thread_ = std::thread([this] { run(); });
}

snapshot_refresher::~snapshot_refresher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

core::error_code snapshot_refresher::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void snapshot_refresher::poke() {
  {
    std::lock_guard lock(mutex_);
    poked_ = true;
  }
  wake_.notify_all();
}

void snapshot_refresher::run() {
  while (true) {
    auto r = loader_.refresh(holder_);
    {
      std::unique_lock lock(mutex_);
      last_error_ = r ? core::error_code{} : r.error();
      if (r && *r) ++swaps_;
      wake_.wait_for(lock, interval_, [this] { return stopping_ || poked_; });
      poked_ = false;
      if (stopping_) return;
    }
  }
}

}  // namespace hashguard::hashdb
