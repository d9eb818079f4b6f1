// What lists.cpp and vpdq_lists.cpp share (private to hashdb): the list row reader, the
// prepared statements, the vpdq list store's export and the packed frame form of vpdq_frames.
#pragma once

#include "pg.hpp"

#include "hashguard/core/vpdq_text.hpp"
#include "hashguard/hashdb/lists.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hashguard::hashdb {

hash_list row_to_list(const pqxx::row& r);
void prepare_all(detail::connection_impl& c);

/// Writes a vpdq list's live videos as the vPDQ video file (core/vpdq_text.hpp); the number of
/// videos written.
std::uint64_t export_vpdq(pqxx::work& tx, const hash_list& list, std::ostream& out);

/// vpdq_frames.data: per frame 41 bytes: the PDQ hash (32 bytes, its hex text's byte order),
/// quality (1), frame number (4, little-endian), timestamp (4, IEEE float, little-endian).
inline constexpr std::size_t vpdq_frame_bytes = 41;
std::string pack_vpdq_frames(std::span<const core::vpdq_frame> frames);
/// nullopt when `data` is not a whole number of valid frames.
std::optional<std::vector<core::vpdq_frame>> unpack_vpdq_frames(std::span<const std::uint8_t> data);

}  // namespace hashguard::hashdb
