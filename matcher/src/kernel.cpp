#include "hashguard/matcher/kernel.hpp"

#include <array>
#include <cstdlib>

namespace hashguard::matcher {

std::span<const kernel* const> kernels() noexcept {
  static const std::array<const kernel*, 4> table{&detail::avx512_vpopcntdq_kernel(),
                                                  &detail::avx2_kernel(), &detail::popcnt_kernel(),
                                                  &detail::scalar_kernel()};
  return table;
}

std::uint32_t cpu_features() noexcept {
  __builtin_cpu_init();
  std::uint32_t f = 0;
  if (__builtin_cpu_supports("popcnt")) f |= feature_popcnt;
  if (__builtin_cpu_supports("avx2")) f |= feature_avx2;
  // The kernel file is built with F, CD, DQ and BW besides VPOPCNTDQ: require them all.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vpopcntdq")) {
    f |= feature_avx512_vpopcntdq;
  }
  return f;
}

core::result<const kernel*> find_kernel(std::string_view name, std::uint32_t features) {
  for (const kernel* k : kernels()) {
    if (name == k->name) {
      if (!can_run(*k, features)) return errc::unsupported_kernel;
      return k;
    }
  }
  return errc::unknown_kernel;
}

core::result<const kernel*> select_kernel(std::string_view forced, std::uint32_t features) {
  if (!forced.empty()) return find_kernel(forced, features);
  for (const kernel* k : kernels()) {
    if (can_run(*k, features)) return k;
  }
  return &detail::scalar_kernel();  // unreachable: scalar needs no feature
}

core::result<const kernel*> startup_kernel() {
  // Once per process (the environment is read at first use, before any index is built).
  static const core::result<const kernel*> chosen = [] {
    const char* forced = std::getenv(force_kernel_variable.data());
    return select_kernel(forced != nullptr ? std::string_view(forced) : std::string_view());
  }();
  return chosen;
}

}  // namespace hashguard::matcher
