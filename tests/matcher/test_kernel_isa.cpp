// DESIGN.md section 4: kernels never share inline code across ISA files. A template from a
// shared header compiled with AVX-512 flags can be the copy the linker keeps for every caller;
// this test disassembles the kernel objects built without AVX-512 flags, and this very test
// binary after linking, and fails on any zmm register outside the AVX-512 kernel's own code.
#include "hg_catch.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

std::string run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  REQUIRE(pipe);
  std::string out;
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  return out;
}

std::vector<std::string> kernel_objects() {
  std::ifstream list(HG_KERNEL_OBJECTS_LIST);
  REQUIRE(list);
  std::vector<std::string> out;
  for (std::string line; std::getline(list, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("kernel objects built without AVX-512 flags contain no zmm register") {
  const auto objects = kernel_objects();
  REQUIRE(objects.size() == 4);
  int checked = 0;
  bool avx512_seen = false;
  for (const std::string& obj : objects) {
    INFO(obj);
    const std::string text = run("objdump -d --no-show-raw-insn '" + obj + "'");
    REQUIRE(text.find("range256") != std::string::npos);  // the disassembly is real
    if (obj.find("avx512") != std::string::npos) {
      // The control: the AVX-512 file does use zmm, so the search below can find it.
      CHECK(text.find("zmm") != std::string::npos);
      avx512_seen = true;
    } else {
      CHECK(text.find("zmm") == std::string::npos);
      ++checked;
    }
  }
  CHECK(checked == 3);
  CHECK(avx512_seen);
}

TEST_CASE("after linking, only the AVX-512 kernel's functions use zmm registers") {
  // Every function of the linked test binary (it links hg_matcher) that mentions zmm must be
  // the AVX-512 file's own: its code lives in namespace kernels_avx512_vpopcntdq.
  // Resolve /proc/self/exe here: inside popen's shell it would name objdump itself.
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string text = run("objdump -d -C --no-show-raw-insn '" + self + "'");
  REQUIRE(text.size() > 1000);
  std::string current;
  std::vector<std::string> offenders;
  std::size_t avx512_functions = 0;
  std::size_t pos = 0;
  std::string last_flagged;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > 2 && line.back() == ':' && line.find(" <") != std::string::npos) {
      current = line;
      continue;
    }
    if (line.find("zmm") == std::string::npos || current == last_flagged) continue;
    last_flagged = current;
    if (current.find("kernels_avx512_vpopcntdq") != std::string::npos) {
      ++avx512_functions;
    } else {
      offenders.push_back(current);
    }
  }
  INFO("functions using zmm outside the AVX-512 kernel: " << offenders.size());
  for (const auto& o : offenders) UNSCOPED_INFO(o);
  CHECK(offenders.empty());
  CHECK(avx512_functions > 0);
}
