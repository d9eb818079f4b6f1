// The sandboxed video worker: the caller's side (video_worker::hash) and the worker's side
// (run_video_worker), and the wire format between them (video_worker.hpp).
//
// Wire format, little-endian, fixed-size fields:
//   request   "HGV1" | f64 seconds_per_hash | u32 downsample | u64 max_bytes | u32 max_streams |
//             u64 max_pixels | f64 max_duration_s | u64 max_frames | u64 max_total_pixels |
//             u64 byte_count | the bytes
//   answer    "HGV1" | i32 errc (0 = hashed) | and when 0: u8 container | u32 width |
//             u32 height | f64 frame_rate | f64 declared_duration_s | u64 frames_decoded |
//             u64 frames_sampled | u64 frame_step | u8 damaged | 16 bytes codec name (NUL
//             padded) | u64 frame count | frames (u32 number | i32 quality | 4 x u64 hash words
//             | f32 timestamp)
#include "hashguard/scanner/video_worker.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;  // NOLINT: POSIX

namespace hashguard::scanner {

namespace {

constexpr char magic[4] = {'H', 'G', 'V', '1'};
constexpr std::size_t frame_wire_size = 4 + 4 + 32 + 4;

template <typename T>
void put(std::string& out, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.append(raw, sizeof(T));
}

class wire_reader {
 public:
  explicit wire_reader(std::span<const std::uint8_t> data) : data_(data) {}
  template <typename T>
  bool get(T& value) {
    if (data_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool bytes(void* out, std::size_t n) {
    if (data_.size() - pos_ < n) return false;
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  [[nodiscard]] std::size_t left() const { return data_.size() - pos_; }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_{};
};

bool read_exact(int fd, void* buffer, std::size_t n) {
  auto* p = static_cast<std::uint8_t*>(buffer);
  while (n > 0) {
    const ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

bool write_all(int fd, const void* buffer, std::size_t n) {
  const auto* p = static_cast<const std::uint8_t*>(buffer);
  while (n > 0) {
    const ssize_t put_n = ::write(fd, p, n);
    if (put_n < 0 && errno == EINTR) continue;
    if (put_n <= 0) return false;
    p += put_n;
    n -= static_cast<std::size_t>(put_n);
  }
  return true;
}

std::string encode_answer(const core::result<vpdq_result>& r) {
  std::string out(magic, sizeof magic);
  if (!r) {
    const bool ours = r.error().category() == scanner_category();
    put<std::int32_t>(out, ours ? r.error().value() : static_cast<int>(errc::corrupt));
    return out;
  }
  put<std::int32_t>(out, 0);
  const video_info& info = r->info;
  put<std::uint8_t>(out, static_cast<std::uint8_t>(info.container));
  put(out, info.width);
  put(out, info.height);
  put(out, info.frame_rate);
  put(out, info.declared_duration_s);
  put(out, info.frames_decoded);
  put(out, info.frames_sampled);
  put(out, info.frame_step);
  put<std::uint8_t>(out, info.damaged ? 1 : 0);
  char codec[16] = {};
  std::memcpy(codec, info.codec.data(), std::min(info.codec.size(), sizeof codec - 1));
  out.append(codec, sizeof codec);
  put<std::uint64_t>(out, r->frames.size());
  for (const auto& f : r->frames) {
    put(out, f.frame_number);
    put<std::int32_t>(out, f.quality);
    for (const auto w : f.hash.words) put(out, w);
    put(out, f.timestamp);
  }
  return out;
}

core::result<vpdq_result> decode_answer(std::span<const std::uint8_t> data) {
  wire_reader in(data);
  char m[4];
  std::int32_t code = 0;
  if (!in.bytes(m, 4) || std::memcmp(m, magic, 4) != 0 || !in.get(code)) {
    return errc::decoder_crashed;
  }
  if (code != 0) {
    if (code < static_cast<int>(errc::empty) || code > static_cast<int>(errc::decoder_crashed)) {
      return errc::decoder_crashed;
    }
    return static_cast<errc>(code);
  }
  vpdq_result r;
  std::uint8_t container = 0;
  std::uint8_t damaged = 0;
  char codec[16];
  std::uint64_t count = 0;
  if (!in.get(container) || container > static_cast<int>(video_container::mpeg_ts) ||
      !in.get(r.info.width) || !in.get(r.info.height) || !in.get(r.info.frame_rate) ||
      !in.get(r.info.declared_duration_s) || !in.get(r.info.frames_decoded) ||
      !in.get(r.info.frames_sampled) || !in.get(r.info.frame_step) || !in.get(damaged) ||
      !in.bytes(codec, sizeof codec) || !in.get(count) || count != in.left() / frame_wire_size ||
      in.left() % frame_wire_size != 0) {
    return errc::decoder_crashed;
  }
  r.info.container = static_cast<video_container>(container);
  r.info.damaged = damaged != 0;
  codec[15] = '\0';
  r.info.codec = codec;
  r.frames.resize(count);
  for (auto& f : r.frames) {
    std::int32_t quality = 0;
    (void)in.get(f.frame_number);
    (void)in.get(quality);
    f.quality = quality;
    for (auto& w : f.hash.words) (void)in.get(w);
    (void)in.get(f.timestamp);
  }
  return r;
}

std::string encode_request(std::span<const std::uint8_t> bytes, const vpdq_options& options,
                           const video_limits& limits) {
  std::string out(magic, sizeof magic);
  put(out, options.seconds_per_hash);
  put(out, options.downsample);
  put<std::uint64_t>(out, limits.max_bytes);
  put(out, limits.max_streams);
  put(out, limits.max_pixels);
  put(out, limits.max_duration_s);
  put(out, limits.max_frames);
  put(out, limits.max_total_pixels);
  put<std::uint64_t>(out, bytes.size());
  return out;
}

// Sends all of `data` without SIGPIPE, giving up at `deadline`.
bool send_all(int fd, const std::uint8_t* data, std::size_t n,
              std::chrono::steady_clock::time_point deadline) {
  while (n > 0) {
    // Rounded up: 0 only once the deadline has passed.
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    const ssize_t sent = ::send(fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (sent <= 0) return false;
    data += sent;
    n -= static_cast<std::size_t>(sent);
  }
  return true;
}

// Reads until the worker closes its end, giving up at `deadline` (false) or past `cap` bytes.
bool receive_all(int fd, std::vector<std::uint8_t>& out, std::size_t cap,
                 std::chrono::steady_clock::time_point deadline) {
  std::uint8_t buffer[64 * 1024];
  while (true) {
    // Rounded up: 0 only once the deadline has passed.
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) return false;
    if (got == 0) return true;
    if (out.size() + static_cast<std::size_t>(got) > cap) return false;
    out.insert(out.end(), buffer, buffer + got);
  }
}

struct fd_closer {
  int fd{-1};
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

video_worker::video_worker(video_worker_options options) : options_(std::move(options)) {}

core::result<vpdq_result> video_worker::hash(std::span<const std::uint8_t> bytes,
                                             const vpdq_options& options,
                                             const video_limits& limits) const noexcept {
  try {
    if (bytes.empty()) return errc::empty;
    if (bytes.size() > limits.max_bytes) return errc::too_large;
    if (auto sniffed = sniff_video(bytes); !sniffed) return sniffed.error();
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      return errc::out_of_memory;
    }
    fd_closer ours{pair[0]};
    fd_closer theirs{pair[1]};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pair[1], 0);
    posix_spawn_file_actions_adddup2(&actions, pair[1], 1);
    const std::string as = std::to_string(options_.sandbox.address_space_bytes);
    const std::string cpu = std::to_string(options_.sandbox.cpu_seconds);
    std::vector<char*> argv{const_cast<char*>(options_.executable.c_str()),
                            const_cast<char*>(as.c_str()), const_cast<char*>(cpu.c_str()), nullptr};
    pid_t pid = -1;
    const int spawned =
        ::posix_spawn(&pid, options_.executable.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return errc::out_of_memory;
    ::close(theirs.fd);
    theirs.fd = -1;

    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    const std::string header = encode_request(bytes, options, limits);
    std::vector<std::uint8_t> answer;
    // The answer is bounded by the frame cap: frames x the wire size, plus the header.
    const std::size_t cap =
        256 + static_cast<std::size_t>(std::min<std::uint64_t>(limits.max_frames, 1ULL << 26U)) *
                  frame_wire_size;
    const bool exchanged =
        send_all(ours.fd, reinterpret_cast<const std::uint8_t*>(header.data()), header.size(),
                 deadline) &&
        send_all(ours.fd, bytes.data(), bytes.size(), deadline) &&
        (::shutdown(ours.fd, SHUT_WR), receive_all(ours.fd, answer, cap, deadline));
    const bool timed_out = std::chrono::steady_clock::now() >= deadline;
    if (!exchanged) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
      const int sig = WTERMSIG(status);
      if (sig == SIGXCPU || (sig == SIGKILL && !timed_out && exchanged)) {
        return errc::scan_budget_exceeded;
      }
      if (sig == SIGKILL && timed_out) return errc::scan_budget_exceeded;
      return errc::decoder_crashed;
    }
    if (!exchanged) return timed_out ? errc::scan_budget_exceeded : errc::decoder_crashed;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return errc::decoder_crashed;
    return decode_answer(answer);
  } catch (const std::bad_alloc&) {
    return errc::out_of_memory;
  }
}

int run_video_worker(int in_fd, int out_fd) noexcept {
  try {
    std::uint8_t head[4 + 8 + 4 + 8 + 4 + 8 + 8 + 8 + 8 + 8];
    if (!read_exact(in_fd, head, sizeof head)) return 3;
    wire_reader in(head);
    char m[4];
    vpdq_options options;
    video_limits limits;
    std::uint64_t max_bytes = 0;
    std::uint64_t size = 0;
    if (!in.bytes(m, 4) || std::memcmp(m, magic, 4) != 0 || !in.get(options.seconds_per_hash) ||
        !in.get(options.downsample) || !in.get(max_bytes) || !in.get(limits.max_streams) ||
        !in.get(limits.max_pixels) || !in.get(limits.max_duration_s) ||
        !in.get(limits.max_frames) || !in.get(limits.max_total_pixels) || !in.get(size)) {
      return 3;
    }
    limits.max_bytes = static_cast<std::size_t>(max_bytes);
    core::result<vpdq_result> result = errc::too_large;
    if (size <= max_bytes) {
      std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
      if (!read_exact(in_fd, bytes.data(), bytes.size())) return 3;
      scan_budget budget;  // RLIMIT_CPU bounds this process
      result = hash_video(bytes, options, limits, budget);
    }
    const std::string answer = encode_answer(result);
    return write_all(out_fd, answer.data(), answer.size()) ? 0 : 3;
  } catch (const std::bad_alloc&) {
    const std::string answer = encode_answer(core::result<vpdq_result>(errc::out_of_memory));
    return write_all(out_fd, answer.data(), answer.size()) ? 0 : 3;
  }
}

}  // namespace hashguard::scanner
