// hashguard: subcommand dispatch only; the work lives in cmd_*.cpp.
#include "commands.hpp"

#include <iostream>

int main(int argc, char** argv) {
  using namespace hashguard::app;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    run_help({});
    return exit_usage;
  }
  const std::string name = args.front();
  args.erase(args.begin());
  if (name == "--version" || name == "-V") return run_version(args);
  if (name == "--help" || name == "-h") return run_help(args);
  for (const command& c : commands()) {
    if (c.name == name) return c.run(args);
  }
  std::cerr << "hashguard: unknown command '" << name
            << "'. Run `hashguard help` for the list of commands.\n";
  return exit_usage;
}
