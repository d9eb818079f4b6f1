// Choosing a Hamming kernel (the simdjson habit, DESIGN.md section 8).
//
// The kernels sit in a priority table, best first: avx512_vpopcntdq, avx2, popcnt, scalar.
// startup_kernel() picks one once per process: the best the CPU supports (checked with
// __builtin_cpu_supports, which also checks that the OS enabled the registers), or the one
// that HG_FORCE_KERNEL names. A forced name that is unknown (errc::unknown_kernel) or that this
// CPU cannot run (errc::unsupported_kernel) is an error, never a silent fallback.
//
// Thread-safety: every function here may be called from any thread; kernels are immutable.
#pragma once

#include "hashguard/matcher/errc.hpp"
#include "hashguard/matcher/kernel_types.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace hashguard::matcher {

/// Every kernel, best first (the priority table).
[[nodiscard]] std::span<const kernel* const> kernels() noexcept;

/// feature_* bits of the CPU this process runs on.
[[nodiscard]] std::uint32_t cpu_features() noexcept;

/// Whether a CPU with `features` can run `k`.
[[nodiscard]] constexpr bool can_run(const kernel& k, std::uint32_t features) noexcept {
  return (k.features & features) == k.features;
}

/// The kernel named `name` if a CPU with `features` can run it.
[[nodiscard]] core::result<const kernel*> find_kernel(std::string_view name,
                                                      std::uint32_t features = cpu_features());

/// The selection rule: an empty `forced` gives the best kernel `features` allow; otherwise
/// find_kernel(forced, features).
[[nodiscard]] core::result<const kernel*> select_kernel(std::string_view forced,
                                                        std::uint32_t features = cpu_features());

/// select_kernel(getenv("HG_FORCE_KERNEL")), evaluated once per process and then cached.
[[nodiscard]] core::result<const kernel*> startup_kernel();

/// The name of the environment variable that forces a kernel.
inline constexpr std::string_view force_kernel_variable = "HG_FORCE_KERNEL";

}  // namespace hashguard::matcher
