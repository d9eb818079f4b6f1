#include "hashguard/hashdb/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>

#include <cerrno>
#include <cstring>

namespace hashguard::hashdb {
namespace {

constexpr char magic[8] = {'H', 'G', 'S', 'P', 'O', 'O', 'L', '1'};
constexpr std::uint32_t max_record = 64U << 20;  // far above any event; guards bad lengths

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

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
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

// Walks records from the header; returns the offset after the last complete record.
std::uint64_t last_complete(int fd, std::uint64_t size) {
  std::uint64_t at = spool::header_size;
  char head[8];
  while (at + 8 <= size) {
    if (!read_at(fd, head, 8, at)) break;
    const std::uint32_t len = get_u32(head);
    if (len > max_record || at + 8 + len > size) break;
    at += 8 + len;
  }
  return at;
}

}  // namespace

spool::spool(std::filesystem::path path, int fd, std::uint64_t size)
    : path_(std::move(path)), fd_(fd), size_(size) {}

spool::~spool() {
  if (fd_ >= 0) ::close(fd_);
}

core::result<std::unique_ptr<spool>> spool::open(std::filesystem::path file) {
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errc::io_error;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return errc::io_error;
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < header_size) {
    // New (or cut before its magic was complete): start it.
    if (::ftruncate(fd, 0) != 0 || !write_all(fd, magic, sizeof magic) || ::fsync(fd) != 0) {
      ::close(fd);
      return errc::io_error;
    }
    size = header_size;
  } else {
    char got[8];
    if (!read_at(fd, got, 8, 0) || std::memcmp(got, magic, 8) != 0) {
      ::close(fd);
      return errc::spool_corrupt;
    }
    // A crash mid-append leaves a torn record that was never acknowledged: cut it off.
    const std::uint64_t end = last_complete(fd, size);
    if (end != size) {
      if (::ftruncate(fd, static_cast<off_t>(end)) != 0 || ::fsync(fd) != 0) {
        ::close(fd);
        return errc::io_error;
      }
      size = end;
    }
  }
  if (::lseek(fd, 0, SEEK_END) < 0) {
    ::close(fd);
    return errc::io_error;
  }
  return std::unique_ptr<spool>(new spool(std::move(file), fd, size));
}

core::result<void> spool::append(std::string_view payload) {
  if (payload.size() > max_record) return errc::invalid_argument;
  std::string frame(8 + payload.size(), '\0');
  put_u32(frame.data(), static_cast<std::uint32_t>(payload.size()));
  put_u32(frame.data() + 4, crc32(payload));
  std::memcpy(frame.data() + 8, payload.data(), payload.size());
  std::lock_guard lock(mutex_);
  if (!write_all(fd_, frame.data(), frame.size())) {
    // Cut back a partial write so the next record starts on a boundary.
    (void)::ftruncate(fd_, static_cast<off_t>(size_));
    (void)::lseek(fd_, 0, SEEK_END);
    return errc::io_error;
  }
  if (::fdatasync(fd_) != 0) return errc::io_error;
  size_ += frame.size();
  return {};
}

core::result<spool::chunk> spool::read(std::uint64_t offset, std::size_t max_records) const {
  std::lock_guard lock(mutex_);
  chunk out;
  out.end = offset;
  char head[8];
  while (out.records.size() < max_records && out.end + 8 <= size_) {
    if (!read_at(fd_, head, 8, out.end)) return errc::io_error;
    const std::uint32_t len = get_u32(head);
    if (len > max_record || out.end + 8 + len > size_) return errc::spool_corrupt;
    std::string payload(len, '\0');
    if (len > 0 && !read_at(fd_, payload.data(), len, out.end + 8)) return errc::io_error;
    if (crc32(payload) != get_u32(head + 4)) return errc::spool_corrupt;
    out.records.push_back(std::move(payload));
    out.end += 8 + len;
  }
  return out;
}

core::result<bool> spool::truncate_if_end(std::uint64_t end) {
  std::lock_guard lock(mutex_);
  if (end != size_) return false;
  if (::ftruncate(fd_, static_cast<off_t>(header_size)) != 0 || ::fsync(fd_) != 0) {
    return errc::io_error;
  }
  (void)::lseek(fd_, 0, SEEK_END);
  size_ = header_size;
  return true;
}

std::uint64_t spool::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

}  // namespace hashguard::hashdb
