// Test setup shared by the hashdb tests that need a scratch directory or read rows back from
// the test database (the recorder and snapshot loader tests).
#pragma once

#include "hg_catch.hpp"

#include <pqxx/pqxx>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace hg_test {

/// A fresh directory under /tmp (mode 0700, from mkdtemp), removed with everything in it.
struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& prefix = "hg-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// The first column of every row `sql` returns, as text (on a connection of its own).
inline std::vector<std::string> column_of(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  std::vector<std::string> out;
  for (const auto& row : tx.exec(sql)) out.push_back(row[0].as<std::string>());
  return out;
}

}  // namespace hg_test
