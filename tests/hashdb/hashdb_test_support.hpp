// Test setup shared by the hashdb tests that need a scratch directory or read rows back from
// the test database (the recorder and snapshot loader tests).
#pragma once

#include "hg_catch.hpp"
#include "hg_util.hpp"  // temp_dir

#include "hashguard/core/hex.hpp"
#include "hashguard/matcher/snapshot.hpp"

#include <pqxx/pqxx>

#include <string>
#include <vector>

namespace hg_test {

/// The first column of every row `sql` returns, as text (on a connection of its own).
inline std::vector<std::string> column_of(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  std::vector<std::string> out;
  for (const auto& row : tx.exec(sql)) out.push_back(row[0].as<std::string>());
  return out;
}

/// A match query for one PDQ hash (hex), its original orientation only.
inline hashguard::matcher::scan_query pdq_query(const std::string& hex) {
  hashguard::matcher::scan_query q;
  hashguard::matcher::pdq_query p;
  p.variants[0] = *hashguard::core::parse_hash256(hex);
  q.pdq = p;
  return q;
}

}  // namespace hg_test
