// The decoder worker's sandbox: what a process that decodes hostile video may do.
//
// enter_video_sandbox() is called by the worker process (scanner/src/video_worker_main.cpp)
// after it has its pipes and before it reads a byte of video. It is one-way, for the rest of
// the process:
//   RLIMIT_AS   address space cap (an allocation over it fails: malloc returns null, new
//               throws bad_alloc, FFmpeg returns ENOMEM). Not set in sanitizer builds: ASan
//               reserves terabytes of shadow address space at start-up.
//   RLIMIT_CPU  CPU seconds: the kernel sends SIGXCPU at the soft limit and SIGKILL at the hard
//               limit one second later; SIGXCPU's default action ends the process.
//   RLIMIT_NOFILE 0 (no new descriptor; the pipes are already open; not in sanitizer builds,
//   whose runtime opens /proc/self/maps for a report), RLIMIT_FSIZE 0, RLIMIT_NPROC 0.
//   no_new_privs, then a seccomp filter (libseccomp) whose default action kills the process.
//   It allows what decoding bytes in memory needs: read, write, readv, writev, close, memory
//   (mmap, munmap, mremap, mprotect, brk, madvise), futex, the clocks, getrusage,
//   sched_getaffinity, sched_yield, getpid, gettid, fstat, signal return, exit. socket,
//   socketpair, connect, open and openat answer EPERM (a library that tries fails cleanly);
//   every other call (clone, execve, ptrace, kill, ...) kills the process. Sanitizer builds
//   (HG_SANITIZE) also allow what the ASan/UBSan runtime calls while reporting: rt_sigaction,
//   rt_sigprocmask, sigaltstack, prlimit64, getrlimit, readlink, prctl, tgkill, nanosleep,
//   clock_nanosleep, lseek, pread64, and pipe/pipe2 (UBSan's vptr check tests whether a
//   vtable is readable through a pipe). LeakSanitizer's exit-time check would need clone and
//   ptrace: in sanitizer builds enter_video_sandbox runs the leak check just before loading
//   the filter (leaks before the sandbox are reported), which turns the exit-time one off.
//
// Errors: core::result with std::errc-style codes from the failing call (errno); the worker
// exits without decoding when the sandbox cannot be entered.
#pragma once

#include "hashguard/core/error.hpp"

#include <cstdint>

namespace hashguard::scanner {

struct video_sandbox_limits {
  std::uint64_t address_space_bytes{2ULL << 30U};  ///< RLIMIT_AS (ignored in sanitizer builds)
  std::uint32_t cpu_seconds{60};                   ///< RLIMIT_CPU soft limit
};

/// Whether this build is instrumented by a sanitizer (RLIMIT_AS is then not applied).
[[nodiscard]] bool sanitizer_build() noexcept;

/// Enters the sandbox described above. Irreversible.
[[nodiscard]] core::result<void> enter_video_sandbox(const video_sandbox_limits& limits) noexcept;

}  // namespace hashguard::scanner
