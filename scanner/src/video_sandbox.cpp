// The decoder worker's sandbox (video_sandbox.hpp).
#include "hashguard/scanner/video_sandbox.hpp"

#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#endif
#endif

#include <cerrno>
#include <initializer_list>
#include <memory>
#include <system_error>

namespace hashguard::scanner {

namespace {

#if defined(__SANITIZE_ADDRESS__)
#define HG_SANDBOX_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HG_SANDBOX_UNDER_ASAN 1
#endif
#endif

#if defined(HG_SANDBOX_UNDER_ASAN)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

// LeakSanitizer's exit-time check stops the world with clone and ptrace, which the filter
// forbids (and must keep forbidding): run the check now, before the filter, which also turns
// the exit-time one off. Leaks made before the sandbox are still reported; the sandboxed part
// goes unchecked (its process ends right after one video anyway).
void check_leaks_before_the_filter() noexcept {
#if defined(HG_SANDBOX_UNDER_ASAN)
  __lsan_do_leak_check();
#endif
}

core::error_code from_errno(int e) noexcept {
  return std::make_error_code(static_cast<std::errc>(e));
}

core::result<void> set_limit(int resource, rlim_t soft, rlim_t hard) noexcept {
  const rlimit limit{soft, hard};
  if (setrlimit(resource, &limit) != 0) return from_errno(errno);
  return {};
}

struct filter_closer {
  void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};

core::result<void> install_filter() noexcept {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr) return from_errno(ENOMEM);
  const std::unique_ptr<void, filter_closer> owner(ctx);
  // What decoding bytes held in memory needs, single-threaded.
  for (const int call : {SCMP_SYS(read),
                         SCMP_SYS(write),
                         SCMP_SYS(readv),
                         SCMP_SYS(writev),
                         SCMP_SYS(close),
                         SCMP_SYS(mmap),
                         SCMP_SYS(munmap),
                         SCMP_SYS(mremap),
                         SCMP_SYS(mprotect),
                         SCMP_SYS(brk),
                         SCMP_SYS(madvise),
                         SCMP_SYS(futex),
                         SCMP_SYS(clock_gettime),
                         SCMP_SYS(clock_getres),
                         SCMP_SYS(gettimeofday),
                         SCMP_SYS(getrusage),
                         SCMP_SYS(sched_getaffinity),
                         SCMP_SYS(sched_yield),
                         SCMP_SYS(rt_sigreturn),
                         SCMP_SYS(exit),
                         SCMP_SYS(exit_group),
                         SCMP_SYS(getpid),
                         SCMP_SYS(gettid),
                         SCMP_SYS(fstat),
                         SCMP_SYS(newfstatat)}) {
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, call, 0) != 0) return from_errno(EINVAL);
  }
  // Reaching out fails cleanly instead of killing: a library that probes for a file or a
  // socket gets an error it can handle.
  for (const int call : {SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(openat), SCMP_SYS(open),
                         SCMP_SYS(connect)}) {
    if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), call, 0) != 0) return from_errno(EINVAL);
  }
  if (sanitized) {
    // The ASan/UBSan runtime: signal handling for its reports, its own yields, prlimit for its
    // stack checks, sigaltstack, readlink of /proc/self/exe for symbolising, and pipe2 (write,
    // read, close): UBSan's vptr check asks whether a vtable is readable by writing it into a
    // pipe (IsAccessibleMemoryRange), and a refused pipe would be reported as a bad vptr.
    for (const int call :
         {SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(sigaltstack),
          SCMP_SYS(prlimit64), SCMP_SYS(getrlimit), SCMP_SYS(readlink), SCMP_SYS(prctl),
          SCMP_SYS(tgkill), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(lseek),
          SCMP_SYS(pread64), SCMP_SYS(pipe), SCMP_SYS(pipe2)}) {
      if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, call, 0) != 0) return from_errno(EINVAL);
    }
  }
  if (seccomp_load(ctx) != 0) return from_errno(EPERM);
  return {};
}

}  // namespace

bool sanitizer_build() noexcept {
  return sanitized;
}

core::result<void> enter_video_sandbox(const video_sandbox_limits& limits) noexcept {
  if (!sanitized && limits.address_space_bytes != 0) {
    const auto bytes = static_cast<rlim_t>(limits.address_space_bytes);
    if (auto r = set_limit(RLIMIT_AS, bytes, bytes); !r) return r;
  }
  const auto cpu = static_cast<rlim_t>(limits.cpu_seconds);
  if (auto r = set_limit(RLIMIT_CPU, cpu, cpu + 1); !r) return r;
  if (auto r = set_limit(RLIMIT_FSIZE, 0, 0); !r) return r;
  if (!sanitized) {
    if (auto r = set_limit(RLIMIT_NOFILE, 0, 0); !r) return r;  // the pipes stay open
  }
  if (auto r = set_limit(RLIMIT_NPROC, 0, 0); !r) return r;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return from_errno(errno);
  check_leaks_before_the_filter();
  return install_filter();
}

}  // namespace hashguard::scanner
