// The record of one match between a query and a list entry. Produced by matcher, stored by
// hashdb, returned by api; defined here so all three share it.
#pragma once

#include "hashguard/core/vocabulary.hpp"

#include <cstdint>

namespace hashguard::core {

struct hit {
  std::int64_t list_id{};                ///< the hash list's id (hashdb's hash_lists.id)
  std::int64_t entry_id{};               ///< the entry's id within the store (hashdb's hashes.id)
  signal sig{signal::pdq};               ///< which signal matched
  int distance{};                        ///< Hamming distance; 0 for exact digests
  dihedral variant{dihedral::original};  ///< which dihedral variant of the query matched
  std::int32_t query{};  ///< index of the query in the caller's batch (or GIF frame)

  friend constexpr bool operator==(const hit&, const hit&) = default;
};

}  // namespace hashguard::core
