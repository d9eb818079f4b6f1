// libFuzzer target: every image input, whatever its format, is scanned (digests, decode, PDQ of
// every frame, pHash) within a bound of CPU time, so that the next input whose work grows with
// what its structure repeats rather than with its pixels (the TIFF strips that named one stream
// 100,000 times, a GIF frame far outside its screen) is found by a machine. The fuzz caps keep
// a legitimate scan in the milliseconds (fuzz_limits.hpp: 1 Mpx, 8 frames); the bound is the
// scanner's own budget (scan_budget, thread CPU time), HG_FUZZ_SCAN_MS milliseconds (default
// 1000, generous for the sanitizers' slowdown). An input over it aborts: libFuzzer keeps it.
#include "fuzz_limits.hpp"
#include "fuzz_support.hpp"
#include "hashguard/scanner/budget.hpp"
#include "hashguard/scanner/scan.hpp"
#include "hashguard/scanner/sniff.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace {

std::chrono::milliseconds cpu_bound() {
  static const std::chrono::milliseconds bound = [] {
    const char* text = std::getenv("HG_FUZZ_SCAN_MS");
    const long ms = text != nullptr ? std::strtol(text, nullptr, 10) : 0;
    return std::chrono::milliseconds(ms > 0 ? ms : 1000);
  }();
  return bound;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sc = hashguard::scanner;
  const std::span<const std::uint8_t> bytes(data, size);
  if (!sc::sniff(bytes)) return -1;  // not an image: nothing to bound
  sc::scan_options options;
  options.limits = hg_fuzz::fuzz_limits();
  static sc::image_scanner scanner(options);  // reused, as the service's per-thread scanners
  sc::scan_budget budget(cpu_bound());
  const auto scanned = scanner.scan(bytes, budget);
  if (!scanned && scanned.error() == sc::errc::scan_budget_exceeded) {
    std::fprintf(stderr, "hg_fuzz: one scan took %lld ms of CPU (bound %lld ms)\n",
                 static_cast<long long>(
                     std::chrono::duration_cast<std::chrono::milliseconds>(budget.used()).count()),
                 static_cast<long long>(cpu_bound().count()));
    hg_fuzz::fail("every scan finishes within the CPU bound");
  }
  return 0;
}
