#include "commands.hpp"
#include "version.hpp"

#include <iostream>

namespace hashguard::app {

int run_help(const std::vector<std::string>& args) {
  if (!args.empty()) {
    for (const command& c : commands()) {
      if (c.name == args[0]) {
        std::cout << "hashguard " << c.name << ": " << c.summary << "\n"
                  << "Run `hashguard " << c.name << " --help` for its options.\n";
        return exit_ok;
      }
    }
    std::cerr << "hashguard help: unknown command '" << args[0] << "'\n";
    return exit_usage;
  }
  std::cout << "hashguard " << version_string
            << " - finds known abuse imagery by perceptual hash\n\n"
               "usage: hashguard COMMAND [ARGS...]\n\ncommands:\n";
  for (const command& c : commands()) {
    std::cout << "  " << c.name;
    for (std::size_t pad = c.name.size(); pad < 10; ++pad) std::cout << ' ';
    std::cout << c.summary << "\n";
  }
  std::cout << "\nGlobal flags: --version, --help\n";
  return exit_ok;
}

int run_version(const std::vector<std::string>& /*args*/) {
  std::cout << "hashguard " << version_string << "\n";
  return exit_ok;
}

}  // namespace hashguard::app
