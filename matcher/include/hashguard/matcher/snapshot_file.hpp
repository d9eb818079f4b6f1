// Snapshot images: a built snapshot as flat byte arrays, and a snapshot made of such arrays again
// without rebuilding anything (for an on-disk snapshot cache that loads in about the time it
// takes to read and checksum the file, DESIGN.md section 6).
//
// image_of(s) gives a small descriptor (lists, counts, MIH slot count; its own bytes) and the
// sections: views of the snapshot's tables (valid while the snapshot lives), in this order:
//   PDQ hashes (32 bytes each), PDQ list positions (u32), PDQ entry ids (i64), the MIH tables
//   (per slot: offsets, ids; see mih_index::table_sections), pHash values (u64), pHash list
//   positions (u32), pHash entry ids (i64), then the md5, sha1 and sha256 tables (48 bytes per
//   entry: 32 zero-padded digest bytes, u32 list position, u32 zero, i64 entry id, sorted), the
//   quarantined entry ids (i64, ascending), the provenance rows (16 bytes each: i64 entry id,
//   u64 packed reference, ascending by entry) and their text records (snapshot.hpp's
//   source_row); the exchange names the rows refer to follow the lists in the descriptor.
// Little-endian, x86-64 layout; the format is versioned inside the descriptor.
//
// snapshot_from_image() builds a snapshot whose tables ARE the given sections (no copy): the
// caller passes views of memory it keeps alive through `owner` (hashdb passes a read-only
// mapping of its cache file), each section 8-byte aligned. Everything is validated and any
// inconsistency is errc::bad_image: descriptor magic and version, every list field (signal,
// action, threshold range, name length, ids strictly ascending), counts, every section's size
// and alignment, every entry's list position (in range and of the right signal), the digest
// tables (padding zero, sorted), and the MIH tables' structure (mih_index::adopt). A snapshot
// made with other MIH options (a different slot count) is errc::bad_image too. The searches of
// the result then never read out of bounds; what is not re-derived (that each MIH id sits under
// its slot value) is the caller's checksum's to guard. Derived values (search radii, MIH radius
// limit) are recomputed, never read. The kernel comes from `options` (the image holds none).
//
// Thread-safety: both functions are pure; the result is immutable like any snapshot.
#pragma once

#include "hashguard/matcher/snapshot.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace hashguard::matcher {

struct snapshot_image {
  std::vector<std::byte> descriptor;
  std::vector<std::span<const std::byte>> sections;
};

[[nodiscard]] snapshot_image image_of(const snapshot& s);

/// See above. Errors: errc::bad_image; the kernel selection's when options.k is null.
[[nodiscard]] core::result<std::shared_ptr<const snapshot>> snapshot_from_image(
    std::span<const std::byte> descriptor, std::span<const std::span<const std::byte>> sections,
    const std::shared_ptr<const void>& owner, const snapshot_options& options);

}  // namespace hashguard::matcher
