// Steps many tests of a running `hashguard serve` take through its API (tests/api, tests/system):
// an image's PDQ, a PDQ list holding given hashes, waiting for a node's snapshot to hold them,
// checking an answer against the OpenAPI document.
// Header-only: the steps REQUIRE what they rely on, so the test fails where the step did.
#pragma once

#include "hg_catch.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "openapi_check.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hg_test {

/// The PDQ hex of `image`, from POST /v1/hash with an ingest key (REQUIREs quality >= 50: a
/// test list is made from images PDQ describes well).
inline std::string pdq_of(std::uint16_t port, std::string_view ingest_key,
                          const std::string& image) {
  auto r = exchange(port, "POST", "/v1/hash", ingest_key, image, {}, 60000ms);
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  const auto v = boost::json::parse(r->body);
  REQUIRE(v.at("hashes").at("quality").as_int64() >= 50);
  return std::string(v.at("hashes").at("pdq").as_string());
}

/// Creates the PDQ list `name` (threshold 31, action block) through node `port` with an admin
/// key and imports `hashes` into it (REQUIREs every one accepted); returns its id.
inline std::int64_t make_list(std::uint16_t port, std::string_view admin_key,
                              const std::string& name, const std::vector<std::string>& hashes) {
  auto created = exchange(port, "POST", "/v1/lists", admin_key,
                          std::string_view(R"({"name":")" + name +
                                           R"(","signal":"pdq","threshold":31,"action":"block"})"),
                          {{"Content-Type", "application/json"}}, 60000ms);
  REQUIRE(created);
  INFO(created->body);
  REQUIRE(created->status == 201);
  const std::int64_t id = boost::json::parse(created->body).at("id").as_int64();
  std::string body;
  for (const auto& h : hashes) body += h + "\n";
  auto imported = exchange(port, "POST", "/v1/lists/" + std::to_string(id) + "/hashes?format=hex",
                           admin_key, body, {}, 60000ms);
  REQUIRE(imported);
  INFO(imported->body);
  REQUIRE(imported->status == 200);
  REQUIRE(boost::json::parse(imported->body).at("accepted").to_number<std::uint64_t>() ==
          hashes.size());
  return id;
}

/// Waits until node `port` publishes a snapshot with `pdq_entries` PDQ entries; false when it
/// did not within `limit`.
inline bool wait_pdq_entries(std::uint16_t port, std::string_view admin_key,
                             std::uint64_t pdq_entries,
                             std::chrono::milliseconds limit = std::chrono::seconds(120)) {
  return eventually(
      [&] {
        auto idx = exchange(port, "GET", "/v1/index", admin_key, std::nullopt, {}, 60000ms);
        return idx && idx->status == 200 &&
               boost::json::parse(idx->body).at("sizes").at("pdq").to_number<std::uint64_t>() ==
                   pdq_entries;
      },
      limit);
}

/// CHECKs that `v` fits the OpenAPI document's schema `schema` (e.g. "ScanResult"), listing
/// every violation when it does not.
inline void require_schema(std::string_view schema, const boost::json::value& v) {
  const auto problems = openapi_violations(schema, v);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  INFO(schema << ": " << all << boost::json::serialize(v));
  CHECK(problems.empty());
}

}  // namespace hg_test
