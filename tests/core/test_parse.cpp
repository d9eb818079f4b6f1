#include "hashguard/core/parse.hpp"

#include "hg_catch.hpp"

#include <cstdint>

using namespace hashguard::core;

namespace {
// 2026-12-07T00:00:00Z, from `date -u -d 2026-12-07 +%s`.
constexpr std::int64_t dec_7_2026_us = 1'796'601'600LL * 1'000'000;
}  // namespace

TEST_CASE("parse_int reads decimal integers and nothing else") {
  CHECK(parse_int<int>("0") == 0);
  CHECK(parse_int<int>("42") == 42);
  CHECK(parse_int<int>("-17") == -17);
  CHECK(parse_int<int>("007") == 7);
  CHECK(parse_int<std::int64_t>("9223372036854775807") == INT64_MAX);
  CHECK(parse_int<std::int64_t>("-9223372036854775808") == INT64_MIN);
  CHECK(parse_int<std::uint64_t>("18446744073709551615") == UINT64_MAX);
  for (const char* bad : {"", " 1", "1 ", "+1", "1.5", "0x10", "12a", "-", "1e3", "\t"}) {
    INFO(bad);
    const auto r = parse_int<int>(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::not_a_number);
  }
  // A sign has no place in an unsigned number.
  CHECK(parse_int<unsigned>("-1").error() == errc::not_a_number);
}

TEST_CASE("parse_int enforces the type's range and the caller's") {
  CHECK(parse_int<std::int8_t>("127") == 127);
  CHECK(parse_int<std::int8_t>("128").error() == errc::out_of_range);
  CHECK(parse_int<std::int8_t>("-129").error() == errc::out_of_range);
  CHECK(parse_int<std::uint16_t>("65536").error() == errc::out_of_range);
  CHECK(parse_int<std::int64_t>("99999999999999999999").error() == errc::out_of_range);
  CHECK(parse_int<int>("1", 1, 1000) == 1);
  CHECK(parse_int<int>("1000", 1, 1000) == 1000);
  CHECK(parse_int<int>("0", 1, 1000).error() == errc::out_of_range);
  CHECK(parse_int<int>("1001", 1, 1000).error() == errc::out_of_range);
  CHECK(parse_int<std::int64_t>("-1", 0).error() == errc::out_of_range);
  CHECK(parse_int<std::size_t>("x", 1, 10).error() == errc::not_a_number);
}

TEST_CASE("parse_date_us reads YYYY-MM-DD as midnight UTC") {
  CHECK(parse_date_us("1970-01-01") == 0);
  CHECK(parse_date_us("1970-01-02") == 86'400LL * 1'000'000);
  CHECK(parse_date_us("1969-12-31") == -86'400LL * 1'000'000);
  CHECK(parse_date_us("2026-12-07") == dec_7_2026_us);
  CHECK(parse_date_us("2024-02-29"));  // a leap day
  for (const char* bad : {"", "2026-12-7", "2026-13-01", "2026-00-10", "2026-12-00", "2026-02-29",
                          "2025-04-31", "2026/12/07", "2026-12-07Z", " 2026-12-07", "2026-+1-07",
                          "2026-12-07T00:00:00Z", "20261207", "abcd-ef-gh"}) {
    INFO(bad);
    const auto r = parse_date_us(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::bad_time);
  }
}

TEST_CASE("parse_utc_time_us reads a date or an ISO 8601 UTC time to the microsecond") {
  CHECK(parse_utc_time_us("2026-12-07") == dec_7_2026_us);
  CHECK(parse_utc_time_us("2026-12-07T00:00:00Z") == dec_7_2026_us);
  CHECK(parse_utc_time_us("2026-12-07T13:45:09Z") ==
        dec_7_2026_us + (13 * 3600 + 45 * 60 + 9) * 1'000'000LL);
  CHECK(parse_utc_time_us("2026-12-07T00:00:01.5Z") == dec_7_2026_us + 1'500'000);
  CHECK(parse_utc_time_us("2026-12-07T00:00:00.123456Z") == dec_7_2026_us + 123'456);
  // Beyond the microsecond the fraction is truncated.
  CHECK(parse_utc_time_us("2026-12-07T00:00:00.123456789Z") == dec_7_2026_us + 123'456);
  // A leap second is the next minute's first.
  CHECK(parse_utc_time_us("2026-12-07T23:59:60Z") == dec_7_2026_us + 86'400LL * 1'000'000);
  for (const char* bad :
       {"2026-12-07T00:00:00", "2026-12-07 00:00:00Z", "2026-12-07T24:00:00Z",
        "2026-12-07T00:60:00Z", "2026-12-07T00:00:61Z", "2026-12-07T00:00:00+00:00",
        "2026-12-07T00:00:00.Z", "2026-12-07T00:00:00,5Z", "2026-12-07T00:00:00.1234567890Z",
        "2026-12-07T0:00:00Z", "2026-02-30T00:00:00Z", "2026-12-07T00:00:00xZ",
        "2026-12-07T-1:00:00Z", "2026-12-07t00:00:00z"}) {
    INFO(bad);
    const auto r = parse_utc_time_us(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::bad_time);
  }
}

TEST_CASE("parse_rfc3339_us reads a time with Z or an offset to its instant") {
  using hashguard::core::parse_rfc3339_us;
  const auto z = parse_rfc3339_us("2026-12-07T10:00:00Z");
  REQUIRE(z.has_value());
  CHECK(*z == 1'796'637'600'000'000);
  CHECK(parse_rfc3339_us("2026-12-07T11:00:00+01:00") == z);
  CHECK(parse_rfc3339_us("2026-12-07T05:30:00-04:30") == z);
  CHECK(parse_rfc3339_us("2026-12-07t10:00:00z") == z);
  CHECK(*parse_rfc3339_us("2026-12-07T10:00:00.25Z") == *z + 250'000);
  for (const char* bad :
       {"2026-12-07", "2026-12-07T10:00:00", "2026-12-07 10:00:00Z", "2026-12-07T10:00:00+0100",
        "2026-12-07T10:00:00+24:00", "2026-12-07T25:00:00Z", "2026-02-30T10:00:00Z", ""}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339_us(bad).has_value());
  }
}

TEST_CASE("parse_ip_address takes one IPv4 or IPv6 address and gives its canonical text") {
  using hashguard::core::parse_ip_address;
  CHECK(parse_ip_address("192.0.2.1").value() == "192.0.2.1");
  CHECK(parse_ip_address("2001:DB8:0:0:0:0:0:1").value() == "2001:db8::1");
  CHECK(parse_ip_address("::ffff:192.0.2.1").value() == "::ffff:192.0.2.1");
  for (const char* bad : {"", "192.0.2.1:80", "[2001:db8::1]", "2001:db8::1%eth0", "10.0.0.0/8",
                          "192.0.2", "host.example", "192.0.2.256", " 192.0.2.1"}) {
    INFO(bad);
    CHECK_FALSE(parse_ip_address(bad).has_value());
  }
}
