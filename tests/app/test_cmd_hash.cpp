// hashguard hash, through the real binary: the jsonl contract of DESIGN.md section 9 checked
// against the PDQ vectors' expected CSVs, errors, ordering, threads, animated GIFs, usage.
#include "hashguard/core/hex.hpp"
#include "hashguard/core/vocabulary.hpp"
#include "hashguard/scanner/digest.hpp"

#include "hg_catch.hpp"

#include <boost/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct run_result {
  int exit_code{-1};
  std::string out;
};

// Runs the binary with the arguments (none may contain a quote) and captures stdout.
run_result run(const std::string& arguments) {
  const std::string command =
      std::string("'") + HG_HASHGUARD_BIN + "' " + arguments + " 2>/dev/null";
  run_result r;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    r.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<boost::json::object> json_lines(const std::string& out) {
  std::vector<boost::json::object> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    lines.push_back(boost::json::parse(line).as_object());
  return lines;
}

std::string str(const boost::json::object& o, const char* key) {
  return std::string(o.at(key).as_string());
}

const fs::path vectors = fs::path(HG_TEST_DATA) / "pdq-vectors";
const fs::path scanner_data = fs::path(HG_TEST_DATA) / "scanner";

// The expected CSV as file -> (column -> value).
std::map<std::string, std::map<std::string, std::string>> read_csv(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  auto split = [](std::string l) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    std::vector<std::string> cells;
    std::istringstream s(l);
    for (std::string c; std::getline(s, c, ',');) cells.push_back(c);
    return cells;
  };
  const auto names = split(line);
  std::map<std::string, std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const auto cells = split(line);
    auto& row = rows[cells.at(0)];
    for (std::size_t i = 0; i < names.size(); ++i) row[names[i]] = cells.at(i);
  }
  return rows;
}

// Every vector image through the CLI: the objects must reproduce the CSV.
void check_against(const std::string& csv, const std::string& mode_flag) {
  const auto expected = read_csv(vectors / "expected" / csv);
  const auto r =
      run("hash --format=jsonl --threads 2 " + mode_flag + " '" + (vectors / "images").string() +
          "' '" + (vectors / "generated").string() + "'");
  REQUIRE(r.exit_code == 0);
  const auto lines = json_lines(r.out);
  std::size_t checked = 0;
  std::string previous;
  for (const auto& o : lines) {
    const std::string path = str(o, "path");
    const std::string relative = fs::path(path).lexically_relative(vectors).generic_string();
    INFO(relative);
    if (relative.rfind("images/", 0) == 0 && previous.rfind("images/", 0) == 0) {
      CHECK(previous < relative);  // directories are walked in sorted order
    }
    previous = relative;
    const auto row = expected.find(relative);
    if (row == expected.end()) {
      CHECK(relative.ends_with(".md"));  // the modes README is not an image
      REQUIRE(o.contains("error"));
      CHECK(str(o.at("error").as_object(), "code") == "unsupported_format");
      continue;
    }
    ++checked;
    const auto& want = row->second;
    REQUIRE_FALSE(o.contains("error"));
    CHECK(std::to_string(o.at("width").as_int64()) == want.at("width"));
    CHECK(std::to_string(o.at("height").as_int64()) == want.at("height"));
    CHECK(std::to_string(o.at("quality").as_int64()) == want.at("quality"));
    CHECK_FALSE(o.contains("frames"));
    // Section 9's keys, in its order.
    std::vector<std::string> keys;
    for (const auto& kv : o) keys.emplace_back(kv.key());
    CHECK(keys == std::vector<std::string>{"path", "width", "height", "pdq", "quality", "dihedral",
                                           "phash", "md5", "sha1", "sha256"});
    CHECK(str(o, "phash").size() == 16);
    std::ifstream in(path, std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
    const auto d = hashguard::scanner::digest(bytes);
    REQUIRE(d);
    CHECK(str(o, "md5") == hashguard::core::to_hex(d->md5));
    CHECK(str(o, "sha1") == hashguard::core::to_hex(d->sha1));
    CHECK(str(o, "sha256") == hashguard::core::to_hex(d->sha256));
    if (o.at("quality").as_int64() < hashguard::core::pdq_min_quality) continue;  // noise bits
    CHECK(str(o, "pdq") == want.at("pdq"));
    const auto& dihedral = o.at("dihedral").as_object();
    CHECK(dihedral.size() == 7);
    for (std::size_t k = 1; k < 8; ++k) {
      const std::string name(hashguard::core::dihedral_names[k]);
      CHECK(str(dihedral, name.c_str()) == want.at(name));
    }
  }
  // Every CSV row.
  CHECK(checked == expected.size());
}

}  // namespace

TEST_CASE("hash --format=jsonl on the vector images reproduces expected/fullres-core.csv") {
  check_against("fullres-core.csv", "");
}

TEST_CASE("hash --mode=reference-512 reproduces expected/reference-cli-512.csv") {
  check_against("reference-cli-512.csv", "--mode=reference-512");
}

TEST_CASE("hash reports per-input errors in order and still exits 0") {
  const std::string missing = (scanner_data / "no-such-file.png").string();
  const std::string text = (scanner_data / "README.md").string();
  const std::string image = (scanner_data / "rgb.png").string();
  const auto r = run("hash --format=jsonl '" + missing + "' '" + text + "' '" + image + "'");
  CHECK(r.exit_code == 0);
  const auto lines = json_lines(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(str(lines[0], "path") == missing);
  CHECK(str(lines[0].at("error").as_object(), "code") == "not_found");
  CHECK(str(lines[1], "path") == text);
  CHECK(str(lines[1].at("error").as_object(), "code") == "unsupported_format");
  CHECK_FALSE(str(lines[1].at("error").as_object(), "message").empty());
  CHECK(lines[1].size() == 2);  // {"path","error"} only
  CHECK(str(lines[2], "path") == image);
  CHECK(lines[2].contains("pdq"));
}

TEST_CASE("hash gives the same output on one thread and on several") {
  const auto one = run("hash --format=jsonl --threads=1 '" + scanner_data.string() + "'");
  const auto four = run("hash --format=jsonl --threads 4 '" + scanner_data.string() + "'");
  CHECK(one.exit_code == 0);
  CHECK(four.exit_code == 0);
  CHECK(json_lines(one.out).size() > 30);
  CHECK(one.out == four.out);
}

TEST_CASE("hash adds the frames of an animated GIF") {
  const auto r = run("hash --format=jsonl '" + (scanner_data / "anim.gif").string() + "'");
  REQUIRE(r.exit_code == 0);
  const auto lines = json_lines(r.out);
  REQUIRE(lines.size() == 1);
  const auto& frames = lines[0].at("frames").as_array();
  REQUIRE(frames.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& f = frames[i].as_object();
    CHECK(f.at("index").as_int64() == static_cast<std::int64_t>(i));
    CHECK(str(f, "pdq").size() == 64);
    CHECK(f.contains("quality"));
  }
  CHECK(str(frames[0].as_object(), "pdq") == str(lines[0], "pdq"));
  CHECK(str(frames[1].as_object(), "pdq") != str(lines[0], "pdq"));
}

TEST_CASE("hash marks a file it read only in part as damaged") {
  std::ifstream in(scanner_data / "rgb.jpg", std::ios::binary);
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  bytes.resize(bytes.size() * 2 / 3);  // cut inside the entropy-coded data
  const fs::path dir = fs::temp_directory_path() / ("hg-hash-damaged-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path cut = dir / "cut.jpg";
  std::ofstream(cut, std::ios::binary) << bytes;
  const auto r = run("hash --format=jsonl '" + cut.string() + "' '" +
                     (scanner_data / "rgb.jpg").string() + "'");
  fs::remove_all(dir);
  REQUIRE(r.exit_code == 0);
  const auto lines = json_lines(r.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].contains("pdq"));
  REQUIRE(lines[0].contains("damaged"));
  CHECK(lines[0].at("damaged").as_bool());
  CHECK_FALSE(lines[1].contains("damaged"));
}

TEST_CASE("hash prints a table by default") {
  const auto r = run("hash '" + (scanner_data / "rgb.png").string() + "' '" +
                     (scanner_data / "README.md").string() + "'");
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("PATH", 0) == 0);
  CHECK(r.out.find("64x48") != std::string::npos);
  CHECK(r.out.find("error: unsupported_format") != std::string::npos);
}

TEST_CASE("hash takes the scanner's limits from flags and HG_SCANNER_* variables") {
  const std::string image = "'" + (scanner_data / "rgb.png").string() + "'";
  for (const std::string& args : {"hash --format=jsonl --scanner-max-pixels=3071 " + image,
                                  "hash --format=jsonl --scanner-max-pixels 3071 " + image}) {
    const auto r = run(args);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("\"code\":\"too_many_pixels\"") != std::string::npos);
  }
  const auto env = run("hash --format=jsonl " + image + " ; HG_SCANNER_MAX_BYTES=10 '" +
                       std::string(HG_HASHGUARD_BIN) + "' hash --format=jsonl " + image);
  CHECK(env.out.find("\"code\":\"too_large\"") != std::string::npos);
  CHECK(env.out.find("\"pdq\"") != std::string::npos);  // the first run, unlimited
  CHECK(run("hash --format=jsonl --scanner-max-pixels=3072 " + image).out.find("\"pdq\"") !=
        std::string::npos);
  CHECK(run("hash --scanner-max-pixelz=4 " + image).exit_code == 2);
  CHECK(run("hash --scanner-max-frames=0 " + image).exit_code == 2);
  const auto described = run("hash --help-config");
  CHECK(described.exit_code == 0);
  CHECK(described.out.find("scanner.max_pixels = 100000000") != std::string::npos);
}

TEST_CASE("hash usage errors exit 2") {
  CHECK(run("hash").exit_code == 2);
  CHECK(run("hash --format=xml x").exit_code == 2);
  CHECK(run("hash --mode=fast x").exit_code == 2);
  CHECK(run("hash --threads 0 x").exit_code == 2);
  CHECK(run("hash --threads=two x").exit_code == 2);
  CHECK(run("hash --frobnicate x").exit_code == 2);
  CHECK(run("hash --help").exit_code == 0);
}
