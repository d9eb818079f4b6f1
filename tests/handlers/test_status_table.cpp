// The one error->status table (api/errors.hpp) against every module's error category: each
// code a module can return has a row, or is on the explicit "500 on purpose" list, never both.
#include "hashguard/api/errors.hpp"
#include "hashguard/core/errc.hpp"
#include "hashguard/handlers/routes.hpp"
#include "hashguard/hashdb/errc.hpp"
#include "hashguard/matcher/errc.hpp"
#include "hashguard/scanner/errc.hpp"

#include "hg_catch.hpp"

#include <string>
#include <vector>

using namespace hashguard;

namespace {

/// Every code name a category defines (codes are small positive integers; a name of "unknown"
/// ends nothing, gaps are skipped).
std::vector<std::string> code_names(const core::named_category& cat) {
  std::vector<std::string> out;
  for (int code = 1; code < 256; ++code) {
    const std::string name = cat.code_name(code);
    if (name != "unknown") out.push_back(name);
  }
  return out;
}

}  // namespace

TEST_CASE("every module's error codes have a status row or answer 500 on purpose") {
  const std::vector<const core::named_category*> categories{
      &core::core_category(),     &scanner::scanner_category(), &matcher::matcher_category(),
      &hashdb::hashdb_category(), &api::api_category(),         &handlers::handlers_category(),
  };
  std::size_t names = 0;
  for (const auto* cat : categories) {
    const auto codes = code_names(*cat);
    CHECK_FALSE(codes.empty());
    for (const auto& name : codes) {
      INFO(cat->name() << ": " << name);
      ++names;
      const bool row = api::has_status_row(name);
      const bool deliberate = api::answers_500_on_purpose(name);
      CHECK(row != deliberate);  // one or the other, never both, never neither
      if (deliberate) CHECK(api::status_for_name(name) == 500);
    }
  }
  CHECK(names > 40);
}

TEST_CASE("a database outage answers 503 database_unavailable with Retry-After") {
  const core::error_code down = hashdb::errc::unavailable;
  CHECK(core::error_name(down) == "database_unavailable");
  const auto r = api::response::error(down, 4);
  CHECK(r.status == 503);
  CHECK(r.header("Retry-After") == "4");
  CHECK(r.body.find("\"database_unavailable\"") != std::string::npos);
}

TEST_CASE("already_exists answers 409 and a client's bad value 400") {
  CHECK(api::status_for(hashdb::errc::already_exists) == 409);
  CHECK(api::status_for(hashdb::errc::invalid_argument) == 400);
  CHECK(api::status_for(hashdb::errc::conflict) == 409);
  CHECK(api::status_for(hashdb::errc::not_found) == 404);
  CHECK(api::status_for(hashdb::errc::query_failed) == 500);
}
