#include "hashguard/hashdb/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

namespace hashguard::hashdb {
namespace {

namespace fs = std::filesystem;

constexpr char magic[8] = {'H', 'G', 'S', 'P', 'O', 'O', 'L', '1'};
constexpr std::uint32_t max_record = 64U << 20;  // far above any event; guards bad lengths
constexpr std::uint64_t frame_head = 8;          // length + CRC

std::uint32_t crc32(std::string_view data) {
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

void put_u32(char* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::uint32_t get_u32(const char* in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

// Writes all of `data` at `offset` through the seam.
bool write_at(const spool_file_ops& ops, int fd, const char* data, std::size_t n,
              std::uint64_t offset) {
  while (n > 0) {
    const ssize_t w = ops.pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
  return true;
}

bool read_at(int fd, char* out, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    out += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

// A read error is not corruption: it must never make the spool set good records aside.
enum class frame_state : std::uint8_t { valid, invalid, unreadable };

struct frame {
  frame_state state{frame_state::invalid};
  std::string payload;  // when valid
};

// The frame at `at` within the first `size` bytes of the file.
frame frame_at(int fd, std::uint64_t at, std::uint64_t size) {
  frame f;
  char head[frame_head];
  if (at + frame_head > size) return f;
  if (!read_at(fd, head, frame_head, at)) return {frame_state::unreadable, {}};
  const std::uint32_t len = get_u32(head);
  if (len > max_record || at + frame_head + len > size) return f;
  f.payload.assign(len, '\0');
  if (len > 0 && !read_at(fd, f.payload.data(), len, at + frame_head)) {
    return {frame_state::unreadable, {}};
  }
  if (crc32(f.payload) != get_u32(head + 4)) return {frame_state::invalid, {}};
  f.state = frame_state::valid;
  return f;
}

// The offset of the first valid frame after the bad bytes at `bad` (and before `size`): the
// bad frame's own length when that lands on a valid frame, else a byte-by-byte scan. nullopt
// when there is none; io_error when the file cannot be read.
core::result<std::optional<std::uint64_t>> next_valid(int fd, std::uint64_t bad,
                                                      std::uint64_t size) {
  char head[frame_head];
  if (bad + frame_head <= size && read_at(fd, head, frame_head, bad)) {
    const std::uint64_t skip = bad + frame_head + get_u32(head);
    if (get_u32(head) <= max_record && skip < size) {
      const frame f = frame_at(fd, skip, size);
      if (f.state == frame_state::unreadable) return errc::io_error;
      if (f.state == frame_state::valid) return std::optional<std::uint64_t>(skip);
    }
  }
  constexpr std::size_t block = 64 * 1024;
  std::string buf(block + frame_head, '\0');
  for (std::uint64_t base = bad + 1; base + frame_head <= size; base += block) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - base));
    if (!read_at(fd, buf.data(), n, base)) return errc::io_error;
    for (std::size_t i = 0; i + frame_head <= n && i < block; ++i) {
      const std::uint32_t len = get_u32(buf.data() + i);
      if (len > max_record || base + i + frame_head + len > size) continue;  // cheap filter
      const frame f = frame_at(fd, base + i, size);
      if (f.state == frame_state::unreadable) return errc::io_error;
      if (f.state == frame_state::valid) return std::optional<std::uint64_t>(base + i);
    }
  }
  return std::optional<std::uint64_t>();
}

struct byte_range {
  std::uint64_t begin, end;
};

// What open() finds: the bad ranges that have valid records after them, and the end of the
// last valid record (anything past it is a torn tail).
struct scan_result {
  std::vector<byte_range> bad;
  std::uint64_t end{spool::header_size};
};

core::result<scan_result> scan(int fd, std::uint64_t size) {
  scan_result out;
  std::uint64_t at = spool::header_size;
  while (at < size) {
    const frame f = frame_at(fd, at, size);
    if (f.state == frame_state::unreadable) return errc::io_error;
    if (f.state == frame_state::valid) {
      at += frame_head + f.payload.size();
      continue;
    }
    auto next = next_valid(fd, at, size);
    if (!next) return next.error();
    if (!*next) break;  // nothing valid after it: a torn tail
    out.bad.push_back({at, **next});
    at = **next;
  }
  out.end = at;
  return out;
}

std::string read_range(int fd, byte_range r) {
  std::string bytes(r.end - r.begin, '\0');
  if (!bytes.empty() && !read_at(fd, bytes.data(), bytes.size(), r.begin)) return {};
  return bytes;
}

fs::path with_suffix(const fs::path& p, const char* suffix) {
  return p.string() + suffix;
}

fs::path dir_of(const fs::path& p) {
  return p.has_parent_path() ? p.parent_path() : fs::path(".");
}

// Appends `bytes` to `file` (created 0600; an older, wider mode is narrowed) and syncs it;
// a failed write is cut off again.
core::result<void> append_file(const spool_file_ops& ops, const fs::path& file,
                               std::string_view bytes) {
  std::error_code ec;
  const bool created = !fs::exists(file, ec);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errc::io_error;
  struct stat st {};
  bool ok = ::fchmod(fd, 0600) == 0 && ::fstat(fd, &st) == 0;
  const auto at = static_cast<std::uint64_t>(st.st_size);
  if (ok && (!write_at(ops, fd, bytes.data(), bytes.size(), at) || ops.fdatasync(fd) != 0)) {
    (void)ops.ftruncate(fd, static_cast<off_t>(at));
    ok = false;
  }
  ::close(fd);
  if (ok && created && ops.fsync_dir(dir_of(file)) != 0) ok = false;
  if (!ok) return errc::io_error;
  return {};
}

// Writes the magic and the `keep` ranges of `fd` to a new file, syncs it and renames it over
// `file` (directory synced). Returns the new file's descriptor and size.
core::result<std::pair<int, std::uint64_t>> rewrite(const spool_file_ops& ops, int fd,
                                                    const fs::path& file,
                                                    const std::vector<byte_range>& keep) {
  const fs::path tmp = with_suffix(file, ".rewrite");
  const int out = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) return errc::io_error;
  bool ok = write_at(ops, out, magic, sizeof magic, 0);
  std::uint64_t at = spool::header_size;
  std::string buf(1 << 20, '\0');
  for (const byte_range& r : keep) {
    for (std::uint64_t from = r.begin; ok && from < r.end;) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), r.end - from));
      ok = read_at(fd, buf.data(), n, from) && write_at(ops, out, buf.data(), n, at);
      from += n;
      at += n;
    }
  }
  ok = ok && ops.fdatasync(out) == 0 && ops.rename(tmp, file) == 0;
  if (!ok) {
    ::close(out);
    std::error_code ec;
    fs::remove(tmp, ec);
    return errc::io_error;
  }
  // Renamed: the new file is the spool now. Its name is durable once the directory is synced;
  // until then a crash leaves the old file, whose bad bytes the next open sets aside again.
  if (ops.fsync_dir(dir_of(file)) != 0) {
    ::close(out);
    return errc::io_error;
  }
  return std::pair<int, std::uint64_t>(out, at);
}

}  // namespace

spool_file_ops spool_file_ops::system() {
  spool_file_ops ops;
  ops.pwrite = [](int fd, const void* data, std::size_t n, off_t offset) {
    return ::pwrite(fd, data, n, offset);
  };
  ops.fdatasync = [](int fd) { return ::fdatasync(fd); };
  ops.ftruncate = [](int fd, off_t length) { return ::ftruncate(fd, length); };
  ops.rename = [](const fs::path& from, const fs::path& to) {
    return ::rename(from.c_str(), to.c_str());
  };
  ops.fsync_dir = [](const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    const int r = ::fsync(fd);
    ::close(fd);
    return r;
  };
  return ops;
}

spool::spool(fs::path path, spool_options options, int fd, std::uint64_t size)
    : path_(std::move(path)), options_(std::move(options)), fd_(fd), size_(size) {}

spool::~spool() {
  if (fd_ >= 0) ::close(fd_);
}

core::result<std::unique_ptr<spool>> spool::open(fs::path file, spool_options options) {
  const spool_file_ops& ops = options.ops;
  const fs::path dir = dir_of(file);
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    // Ours alone: the records hold zones, URLs and content hashes.
    fs::create_directories(dir, ec);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    (void)ops.fsync_dir(dir_of(dir.lexically_normal()));
  }
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errc::io_error;
  auto fail = [fd](errc e) {
    ::close(fd);
    return core::result<std::unique_ptr<spool>>(e);
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(errc::io_error);
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < header_size) {
    // New (or cut before its magic was complete): start it, and make its name durable.
    if (ops.ftruncate(fd, 0) != 0 || !write_at(ops, fd, magic, sizeof magic, 0) ||
        ops.fdatasync(fd) != 0 || ops.fsync_dir(dir) != 0) {
      return fail(errc::io_error);
    }
    return std::unique_ptr<spool>(new spool(std::move(file), std::move(options), fd, header_size));
  }
  char got[8];
  if (!read_at(fd, got, 8, 0) || std::memcmp(got, magic, 8) != 0) return fail(errc::spool_corrupt);

  auto found = scan(fd, size);
  if (!found) return fail(errc::io_error);
  std::uint64_t quarantined = 0;
  if (!found->bad.empty()) {
    // Corruption between valid records: set the bad bytes aside (first, so that a crash
    // before the rewrite loses nothing), then keep every valid record in a rewritten file.
    std::string bad;
    for (const byte_range& r : found->bad) bad += read_range(fd, r);
    if (!append_file(ops, with_suffix(file, ".corrupt"), bad)) return fail(errc::io_error);
    quarantined = bad.size();
    std::vector<byte_range> keep;
    std::uint64_t from = header_size;
    for (const byte_range& r : found->bad) {
      keep.push_back({from, r.begin});
      from = r.end;
    }
    keep.push_back({from, found->end});
    auto fresh = rewrite(ops, fd, file, keep);
    if (!fresh) return fail(errc::io_error);
    ::close(fd);
    auto s = std::unique_ptr<spool>(
        new spool(std::move(file), std::move(options), fresh->first, fresh->second));
    s->quarantined_ = quarantined;
    return s;
  }
  if (found->end != size) {
    // A crash mid-append leaves a torn record that was never acknowledged: cut it off.
    if (ops.ftruncate(fd, static_cast<off_t>(found->end)) != 0 || ops.fdatasync(fd) != 0) {
      return fail(errc::io_error);
    }
  }
  return std::unique_ptr<spool>(new spool(std::move(file), std::move(options), fd, found->end));
}

core::result<void> spool::append(std::string_view payload) {
  if (payload.size() > max_record) return errc::invalid_argument;
  std::string frame(frame_head + payload.size(), '\0');
  put_u32(frame.data(), static_cast<std::uint32_t>(payload.size()));
  put_u32(frame.data() + 4, crc32(payload));
  std::memcpy(frame.data() + frame_head, payload.data(), payload.size());
  std::lock_guard lock(mutex_);
  if (!writable_) return errc::io_error;
  const spool_file_ops& ops = options_.ops;
  if (!write_at(ops, fd_, frame.data(), frame.size(), size_) || ops.fdatasync(fd_) != 0) {
    // Not acknowledged, so none of it may stay: a frame left past the tracked end would sit
    // between acknowledged records once the next append lands behind it.
    if (ops.ftruncate(fd_, static_cast<off_t>(size_)) != 0 || ops.fdatasync(fd_) != 0) {
      writable_ = false;  // the file's end is unknown: no record may follow
    }
    return errc::io_error;
  }
  size_ += frame.size();
  return {};
}

core::result<spool::chunk> spool::read(std::uint64_t offset, std::size_t max_records) {
  std::lock_guard lock(mutex_);
  chunk out;
  out.end = offset;
  // A failure after some records returns those; the next call meets it again.
  auto stop = [&out](errc e) -> core::result<chunk> {
    if (!out.records.empty()) return std::move(out);
    return e;
  };
  while (out.records.size() < max_records && out.end < size_) {
    frame f = frame_at(fd_, out.end, size_);
    if (f.state == frame_state::unreadable) return stop(errc::io_error);
    if (f.state == frame_state::valid) {
      out.end += frame_head + f.payload.size();
      out.records.push_back(std::move(f.payload));
      continue;
    }
    // The disk changed a record after open: set the bad bytes aside, go on after them.
    auto next = next_valid(fd_, out.end, size_);
    if (!next) return stop(errc::io_error);
    const byte_range bad{out.end, next->value_or(size_)};
    const std::string bytes = read_range(fd_, bad);
    if (bytes.size() != bad.end - bad.begin) return stop(errc::io_error);
    if (!append_side(".corrupt", bytes)) return stop(errc::io_error);
    quarantined_ += bytes.size();
    out.end = bad.end;
  }
  return out;
}

core::result<bool> spool::truncate_if_end(std::uint64_t end) {
  std::lock_guard lock(mutex_);
  if (end != size_) return false;
  if (options_.ops.ftruncate(fd_, static_cast<off_t>(header_size)) != 0) return errc::io_error;
  // Cut: the next append starts at the header whether or not this sync succeeds (see header).
  size_ = header_size;
  (void)options_.ops.fdatasync(fd_);
  return true;
}

core::result<void> spool::reject(std::string_view record) {
  std::string line(record);
  line += '\n';
  std::lock_guard lock(mutex_);
  return append_side(".rejected", line);
}

core::result<void> spool::append_side(const char* suffix, std::string_view bytes) {
  return append_file(options_.ops, with_suffix(path_, suffix), bytes);
}

std::uint64_t spool::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

bool spool::writable() const {
  std::lock_guard lock(mutex_);
  return writable_;
}

std::uint64_t spool::quarantined_bytes() const {
  std::lock_guard lock(mutex_);
  return quarantined_;
}

}  // namespace hashguard::hashdb
