// A scan's CPU budget: how much of its own thread's CPU time one scan may spend, and a stop
// flag its owner can raise (serve's shutdown). The scanner checks it between stages (sniff,
// digests, decode, each GIF frame, PDQ of each frame, pHash) and inside the long loops of our
// own code (GIF rows, PNG rows, TIFF strip prechecks, inflate loops). A decoder of a library
// that cannot be interrupted is checked before and after the call, so one library call is the
// granularity there: the pixel and byte caps bound what such a call can cost.
//
// Why thread CPU time (CLOCK_THREAD_CPUTIME_ID) and not wall time: a scan thread that waits
// for a core on a busy machine has not spent its budget; only work the input made it do has.
// A budget therefore measures what the input costs, and the answer to an input that exhausts
// it (errc::scan_budget_exceeded, 422) blames the input: sending it again cannot help.
//
// Interface for decoders: take a `scan_budget&`, call check() (or tick() in a tight loop)
// where the work can grow with what the file declares, and return its non-zero errc at once.
//
// Thread-safety: a budget belongs to the thread that created it (its clock is that thread's
// CPU time); only the stop flag is read across threads. Never allocates, never throws.
#pragma once

#include "hashguard/scanner/errc.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

namespace hashguard::scanner {

class scan_budget {
 public:
  /// No limit and no stop flag: check() always passes.
  scan_budget() noexcept = default;
  /// `limit` of the calling thread's CPU time, counted from now (a limit <= 0 is spent at
  /// once). `stop` may be null; when not, it must outlive the budget, and once it reads true
  /// the scan ends with errc::scan_cancelled.
  explicit scan_budget(std::chrono::nanoseconds limit,
                       const std::atomic<bool>* stop = nullptr) noexcept;

  /// errc{} while CPU time is left; errc::scan_budget_exceeded once it is spent;
  /// errc::scan_cancelled once the stop flag is up. Sticky: after the first failure every call
  /// answers the same. Reads the thread's CPU clock (a system call of well under a
  /// microsecond): call it per stage, row or block, not per pixel (use tick() there).
  [[nodiscard]] errc check() noexcept;
  /// check() on every `stride`-th call (and on the first); the calls between cost a decrement.
  [[nodiscard]] errc tick(std::uint32_t stride = 256) noexcept;
  /// The first failure check() saw; errc{} while none.
  [[nodiscard]] errc failure() const noexcept { return failure_; }
  /// This thread's CPU time since the budget was made.
  [[nodiscard]] std::chrono::nanoseconds used() const noexcept;
  /// Whether the budget has a CPU limit at all.
  [[nodiscard]] bool limited() const noexcept { return limited_; }

  /// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
  [[nodiscard]] static std::chrono::nanoseconds thread_cpu_time() noexcept;

 private:
  std::chrono::nanoseconds start_{};
  std::chrono::nanoseconds limit_{};
  const std::atomic<bool>* stop_{};
  bool limited_{};
  errc failure_{};
  std::uint32_t countdown_{};
};

}  // namespace hashguard::scanner
