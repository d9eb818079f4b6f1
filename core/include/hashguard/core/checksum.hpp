// Checksums that detect corruption of large buffers (cache files of a gigabyte and more).
//
// crc32c() is CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final
// xor 0xFFFFFFFF; "123456789" -> 0xE3069283). checksum64() runs three CRC-32C lanes side by side
// over the buffer's 8-byte words (word i feeds lane i mod 3; the tail bytes after the last whole
// word feed lane 0) and packs them, with the length, into 64 bits. The CPU overlaps the three
// dependency chains: about three times the speed of one CRC, a few GB/s per core. It detects every
// change confined to one lane's words up to 32 bits of burst, as CRC-32C does, and is meant for
// corruption (torn writes, flipped bits, truncation), not for an adversary: it is not a
// cryptographic hash.
//
// Both use the SSE4.2 crc32 instruction when the CPU has it (checked once per process with
// __builtin_cpu_supports) and a table otherwise; the two paths give the same values.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace hashguard::core {

/// CRC-32C of `bytes`.
[[nodiscard]] std::uint32_t crc32c(std::span<const std::byte> bytes) noexcept;

/// The three-lane checksum described above.
[[nodiscard]] std::uint64_t checksum64(std::span<const std::byte> bytes) noexcept;

namespace detail {
/// Raw lane update without the initial/final inversion: `crc` continued over `bytes`.
/// The portable path and, when `hardware` is set, the SSE4.2 one (which the caller must only
/// ask for on a CPU that has it). Exposed so that tests can hold both paths to the same values.
[[nodiscard]] std::uint32_t crc32c_update(std::uint32_t crc, std::span<const std::byte> bytes,
                                          bool hardware) noexcept;
[[nodiscard]] std::uint64_t checksum64(std::span<const std::byte> bytes, bool hardware) noexcept;
[[nodiscard]] bool has_sse42() noexcept;

// The SSE4.2 file's entry points (core/src/checksum_sse42.cpp, built with -msse4.2).
std::uint32_t crc32c_update_sse42(std::uint32_t crc, const std::byte* p, std::size_t n) noexcept;
void crc32c_lanes_sse42(const std::byte* p, std::size_t words, std::uint32_t lanes[3]) noexcept;
}  // namespace detail

}  // namespace hashguard::core
