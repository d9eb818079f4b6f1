// Hashing a video in a separate, sandboxed process: the caller never runs FFmpeg itself.
//
// Each call starts the worker executable (`hashguard-video-worker`, built from
// scanner/worker/main.cpp; serve finds it beside its own binary), which enters the sandbox
// (video_sandbox.hpp: RLIMIT_AS, RLIMIT_CPU, no files or sockets, a seccomp filter) before it
// reads anything, then reads one request from its stdin (the options, the limits and the video
// bytes), hashes (vpdq.hpp) and writes the frame hashes to its stdout, and exits. One process
// per video: a worker that dies takes nothing with it, and the next video starts a fresh one
// (so "restarted when it dies" needs no supervisor; the start costs a few milliseconds beside
// a video's decode).
//
// The caller's side talks over a socketpair (send with MSG_NOSIGNAL: a worker that dies while
// the bytes are being written cannot raise SIGPIPE in the caller) and waits at most `timeout`
// of wall time for the answer; then the worker is killed (SIGKILL) and reaped.
//
// Outcomes: the worker's own answer (a vpdq_result, or the scanner errc it met); or
//   errc::decoder_crashed       the worker ended without a whole answer (a signal: a crash, the
//                               seccomp filter, RLIMIT_CPU's SIGXCPU/SIGKILL, an allocation
//                               over RLIMIT_AS that the library turned into an abort)
//   errc::scan_budget_exceeded  the wall-clock timeout passed (the worker was killed), or the
//                               worker's CPU limit ended it (SIGXCPU or SIGKILL)
//   errc::out_of_memory         the worker could not be started (fork/exec failed)
// None of them ever ends the caller's process.
//
// Thread-safety: a video_worker is immutable after construction; hash() may be called from
// several threads at once (each call has its own process).
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/scanner/video.hpp"
#include "hashguard/scanner/video_sandbox.hpp"
#include "hashguard/scanner/vpdq.hpp"

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

namespace hashguard::scanner {

struct video_worker_options {
  std::string executable;  ///< path of hashguard-video-worker
  video_sandbox_limits sandbox{};
  std::chrono::milliseconds timeout{120'000};  ///< wall time for one video
};

class video_worker {
 public:
  explicit video_worker(video_worker_options options);

  /// Hashes `bytes` in a fresh worker process (see above).
  [[nodiscard]] core::result<vpdq_result> hash(std::span<const std::uint8_t> bytes,
                                               const vpdq_options& options,
                                               const video_limits& limits) const noexcept;

  [[nodiscard]] const video_worker_options& options() const noexcept { return options_; }

 private:
  video_worker_options options_;
};

/// The worker's side: reads one request from `in_fd`, hashes, writes the answer to `out_fd`.
/// Returns the process exit status (0 when an answer, success or scanner error, was written).
/// Called by scanner/worker/main.cpp after enter_video_sandbox().
int run_video_worker(int in_fd, int out_fd) noexcept;

}  // namespace hashguard::scanner
