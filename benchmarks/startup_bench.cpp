// startup_bench: what one `hashguard` process costs before and around its work. Each command
// is started many times; the figure is the median CPU time (user + system, from wait4's
// rusage) of one run, in milliseconds:
//   hashguard --version                 start-up alone (loading, relocation, static init)
//   hashguard hash <small JPEG>         start-up plus one small image
//   peer: --reference CMD (e.g. the PDQ reference's pdq-photo-hasher) run on the same JPEG,
//         if given; /bin/true always, as the floor of starting any process here.
// Also counts the shared libraries the binary loads (LD_TRACE_LOADED_OBJECTS: the dynamic
// loader lists them without running the program).
//
// Usage: startup_bench [--quick] [--runs N] [--reference CMD] [--binary PATH]
// (--binary: another hashguard build, e.g. an older one, instead of this build's)
// Last line: one JSON object (DESIGN.md section 9).
#include "bench_args.hpp"

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

// Runs argv with stdout and stderr to /dev/null; its CPU time in ms, or nothing if it failed.
std::optional<double> cpu_ms_of_run(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& extra_env = {}) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> env;
  for (auto& e : env_storage) env.push_back(e.data());
  env.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return std::nullopt;
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return std::nullopt;
  }
  const auto ms = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0;
  };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

// Median CPU ms over `runs` runs; -1 when a run failed.
double median_cpu_ms(const std::vector<std::string>& argv, int runs) {
  std::vector<double> samples;
  for (int i = 0; i < runs; ++i) {
    const auto ms = cpu_ms_of_run(argv);
    if (!ms) return -1;
    samples.push_back(*ms);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// The objects the dynamic loader maps for `binary` (the vDSO and the loader included).
int shared_libraries(const std::string& binary) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<std::string> env_storage{"LD_TRACE_LOADED_OBJECTS=1"};
  std::vector<char*> env{env_storage[0].data(), nullptr};
  std::vector<char*> args{const_cast<char*>(binary.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  std::string out;
  std::vector<char> buf(4096);
  for (ssize_t n = 0; (n = read(pipe_fds[0], buf.data(), buf.size())) > 0;) {
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  if (rc != 0 || waitpid(pid, &status, 0) != pid) return -1;
  int lines = 0;
  std::istringstream s(out);
  for (std::string line; std::getline(s, line);) {
    if (line.find_first_not_of(" \t") != std::string::npos) ++lines;
  }
  return lines;
}

std::string number(double v) {
  std::ostringstream s;
  s.precision(2);
  s << std::fixed << v;
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 31;
  std::string reference;
  std::string binary = HG_HASHGUARD_BIN;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--quick") {
        runs = 3;
      } else if (arg == "--runs" && i + 1 < argc) {
        runs = hashguard::bench::int_arg<int>(argv[++i], 1, 100000);
      } else if (arg == "--reference" && i + 1 < argc) {
        reference = argv[++i];
      } else if (arg == "--binary" && i + 1 < argc) {
        binary = argv[++i];
      } else {
        throw std::invalid_argument("unknown argument " + arg);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << e.what()
              << "\nusage: startup_bench [--quick] [--runs N] [--reference CMD] [--binary PATH]\n";
    return 2;
  }
  const std::string jpeg = std::string(HG_SOURCE_DIR) + "/tests/data/scanner/rgb.jpg";

  const int libraries = shared_libraries(binary);
  const double version = median_cpu_ms({binary, "--version"}, runs);
  const double hash = median_cpu_ms({binary, "hash", jpeg}, runs);
  const double floor = median_cpu_ms({"/bin/true"}, runs);
  std::optional<double> peer;
  if (!reference.empty()) peer = median_cpu_ms({reference, jpeg}, runs);

  std::cout << "binary: " << binary << " (" << runs << " runs each, median CPU per run)\n"
            << "  shared libraries loaded:        " << libraries << "\n"
            << "  hashguard --version:            " << number(version) << " ms\n"
            << "  hashguard hash rgb.jpg (64x48): " << number(hash) << " ms\n";
  if (peer) std::cout << "  peer " << reference << " rgb.jpg: " << number(*peer) << " ms\n";
  std::cout << "  peer /bin/true (floor):         " << number(floor) << " ms\n";
  std::cout << "{\"shared_libraries\": " << libraries << ", \"version_cpu_ms\": " << number(version)
            << ", \"hash_one_jpeg_cpu_ms\": " << number(hash);
  if (peer) std::cout << ", \"reference_hash_one_jpeg_cpu_ms\": " << number(*peer);
  std::cout << ", \"true_cpu_ms\": " << number(floor) << "}\n";
  return version < 0 || hash < 0 || libraries < 0 ? 1 : 0;
}
