// The strict exposition parser the /metrics tests rely on: it must accept what Prometheus
// accepts and reject each kind of broken exposition, or those tests prove nothing.
#include "exposition_parser.hpp"

#include "hg_catch.hpp"

#include <cmath>
#include <string>

using namespace hg_test;

namespace {

const std::string good_histogram =
    "# HELP lat_seconds Latency.\n"
    "# TYPE lat_seconds histogram\n"
    "lat_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n"
    "lat_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
    "lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
    "lat_seconds_sum{route=\"/a\"} 2.5\n"
    "lat_seconds_count{route=\"/a\"} 4\n";

std::string rejection(const std::string& text) {
  try {
    (void)parse_exposition(text);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("exposition parser: a well-formed exposition parses, values and escapes included") {
  const std::string text =
      "# HELP up_total Things \\\\ counted\\nover two lines.\n"
      "# TYPE up_total counter\n"
      "up_total{kind=\"a\\\"b\\\\c\\nd\"} 3\n"
      "up_total{kind=\"e\",} 1e3 1700000000000\n"
      "\n"
      "# a plain comment\n"
      "# HELP temp Gauges take any float.\n"
      "# TYPE temp gauge\n"
      "temp{where=\"x\"} -2.5\n"
      "temp{where=\"y\"} +Inf\n"
      "temp{where=\"z\"} NaN\n"
      "# HELP empty_family No samples yet.\n"
      "# TYPE empty_family gauge\n" +
      good_histogram;
  const auto doc = parse_exposition(text);
  REQUIRE(doc.families.size() == 4);
  const auto* up = doc.find("up_total");
  REQUIRE(up != nullptr);
  CHECK(up->type == "counter");
  CHECK(up->help == "Things \\ counted\nover two lines.");
  REQUIRE(up->samples.size() == 2);
  CHECK(up->samples[0].labels.at("kind") == "a\"b\\c\nd");
  CHECK(up->samples[1].value == 1000);
  const auto* temp = doc.find("temp");
  REQUIRE(temp != nullptr);
  CHECK(temp->samples[0].value == -2.5);
  CHECK(std::isinf(temp->samples[1].value));
  CHECK(std::isnan(temp->samples[2].value));
  CHECK(doc.find("empty_family")->samples.empty());
  CHECK(doc.find("lat_seconds")->samples.size() == 5);
  CHECK(doc.find("missing") == nullptr);
}

TEST_CASE("exposition parser: metadata rules (HELP/TYPE once, before samples, no family twice)") {
  const std::string meta = "# HELP g G.\n# TYPE g gauge\n";
  const std::string other = "# HELP h H.\n# TYPE h gauge\nh 1\n";
  CHECK(rejection(meta + "g 1\n" + meta + "g{a=\"b\"} 2\n").find("after its samples") !=
        std::string::npos);
  CHECK(rejection(meta + "g 1\n" + other + meta + "g{a=\"b\"} 2\n").find("appears twice") !=
        std::string::npos);
  CHECK(rejection(meta + "g 1\n" + other + "g{a=\"b\"} 2\n") != "accepted");
  CHECK(rejection("# HELP g G.\n# TYPE g gauge\n# TYPE g gauge\ng 1\n").find("second TYPE") !=
        std::string::npos);
  CHECK(rejection("# HELP g G.\n# HELP g G.\n# TYPE g gauge\ng 1\n").find("second HELP") !=
        std::string::npos);
  CHECK(rejection("# HELP g G.\n# TYPE g gauge\ng 1\n# HELP g again\n").find("after") !=
        std::string::npos);
  CHECK(rejection("# TYPE g gauge\ng 1\n").find("lacks HELP or TYPE") != std::string::npos);
  CHECK(rejection("# HELP g G.\ng 1\n").find("lacks HELP or TYPE") != std::string::npos);
  CHECK(rejection("g 1\n").find("before its family") != std::string::npos);
  CHECK(rejection("# HELP g G.\n# TYPE g gauge\n").find("accepted") != std::string::npos);
  CHECK(rejection("# HELP g G.\n# TYPE g meter\ng 1\n").find("unknown type") != std::string::npos);
  CHECK(rejection("# HELP g bad \\t escape\n# TYPE g gauge\n").find("invalid escape") !=
        std::string::npos);
  CHECK(rejection(meta + "g 1").find("newline") != std::string::npos);
}

TEST_CASE("exposition parser: names, labels, values and duplicate series") {
  const std::string meta = "# HELP g G.\n# TYPE g gauge\n";
  CHECK(rejection("# HELP 1g G.\n# TYPE 1g gauge\n") != "accepted");
  CHECK(rejection("# HELP g-x G.\n# TYPE g-x gauge\n") != "accepted");
  CHECK(rejection(meta + "g{1a=\"x\"} 1\n") != "accepted");
  CHECK(rejection(meta + "g{a:b=\"x\"} 1\n") != "accepted");
  CHECK(rejection(meta + "g{a=x} 1\n") != "accepted");
  CHECK(rejection(meta + "g{a=\"x\" b=\"y\"} 1\n") != "accepted");
  CHECK(rejection(meta + "g{a=\"x\",a=\"y\"} 1\n").find("twice") != std::string::npos);
  CHECK(rejection(meta + "g{a=\"bad \\t\"} 1\n").find("invalid escape") != std::string::npos);
  CHECK(rejection(meta + "g{a=\"open} 1\n") != "accepted");
  CHECK(rejection(meta + "g one\n").find("invalid value") != std::string::npos);
  CHECK(rejection(meta + "g 0x10\n").find("invalid value") != std::string::npos);
  CHECK(rejection(meta + "g 1 2 3\n").find("timestamp") != std::string::npos);
  CHECK(rejection(meta + "g  1\n") != "accepted");
  CHECK(rejection(meta + "g{a=\"x\"} 1\ng{a=\"x\"} 2\n").find("twice") != std::string::npos);
  CHECK(rejection(meta + "h 1\n").find("before its family") != std::string::npos);
  CHECK(rejection("# HELP c C.\n# TYPE c counter\nc -1\n").find("negative") != std::string::npos);
  CHECK(rejection(meta + "g 1\ng{a=\"x\"} 2\n") == "accepted");
}

TEST_CASE("exposition parser: histogram buckets, sum and count must agree") {
  CHECK(rejection(good_histogram) == "accepted");
  auto with = [](std::string from, const std::string& what, const std::string& to) {
    from.replace(from.find(what), what.size(), to);
    return from;
  };
  // le out of order, counts not cumulative, no +Inf, _count unlike +Inf, missing _sum.
  CHECK(rejection(with(good_histogram, "le=\"1\"", "le=\"0.05\"")).find("ascending") !=
        std::string::npos);
  CHECK(rejection(with(good_histogram, "le=\"1\"} 3", "le=\"1\"} 0")).find("cumulative") !=
        std::string::npos);
  CHECK(rejection(with(good_histogram, "le=\"+Inf\"", "le=\"5\"")).find("+Inf") !=
        std::string::npos);
  CHECK(rejection(with(good_histogram, "_count{route=\"/a\"} 4", "_count{route=\"/a\"} 5"))
            .find("_count differs") != std::string::npos);
  CHECK(
      rejection(with(good_histogram, "lat_seconds_sum{route=\"/a\"} 2.5\n", "")).find("one _sum") !=
      std::string::npos);
  CHECK(rejection(with(good_histogram, "le=\"0.1\"", "le=\"fast\"")).find("not a number") !=
        std::string::npos);
  CHECK(rejection(with(good_histogram, "lat_seconds_sum{route=\"/a\"}",
                       "lat_seconds_sum{route=\"/a\",le=\"1\"}")) != "accepted");
  // A histogram's samples are _bucket/_sum/_count, never the bare name.
  CHECK(rejection(good_histogram + "lat_seconds 1\n") != "accepted");
}
