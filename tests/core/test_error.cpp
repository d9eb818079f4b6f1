#include "hashguard/core/errc.hpp"

#include "hg_catch.hpp"

using namespace hashguard::core;

TEST_CASE("core errors carry a stable name and a message") {
  error_code ec = errc::wrong_length;
  CHECK(error_name(ec) == "wrong_length");
  CHECK(ec.message().find("wrong number of digits") != std::string::npos);
  CHECK(error_name(error_code(errc::not_hex)) == "not_hex");
  CHECK(error_name(error_code()) == "ok");
  CHECK(error_name(boost::system::errc::make_error_code(boost::system::errc::io_error)) == "error");
}

TEST_CASE("result carries a value or an error") {
  result<int> good = 3;
  result<int> bad = errc::config_file;
  REQUIRE(good);
  CHECK(*good == 3);
  CHECK_FALSE(bad);
  CHECK(bad.error() == errc::config_file);
}
