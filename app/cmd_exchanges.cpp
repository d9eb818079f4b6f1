// hashguard exchanges list|status|sync NAME: the hash sources of the exchanges file.
#include "commands.hpp"
#include "db_common.hpp"

#include "hashguard/exchanges/config.hpp"
#include "hashguard/exchanges/sync.hpp"
#include "hashguard/hashdb/exchange_store.hpp"

#include <unistd.h>

#include <array>
#include <iostream>

namespace hashguard::app {
namespace {

constexpr const char* usage =
    "usage: hashguard exchanges VERB ...   (plus --exchanges-file FILE, --database-url URL |\n"
    "       --data-dir DIR)\n"
    "  list [--json]      the exchanges the exchanges file declares (never their credentials)\n"
    "  status [--json]    each registered exchange's sync state: checkpoint, counts, last\n"
    "                     success and failure, last error, who holds its lease\n"
    "  sync NAME [--json] registers NAME and runs one sync batch now (waits for no other node:\n"
    "                     a held lease makes it a no-op that says so)\n";

std::string state_json(const hashdb::exchange_state& s) {
  std::string lists = "[";
  for (std::size_t i = 0; i < s.lists.size(); ++i) {
    lists += std::string(i ? "," : "") + "{\"signal\":\"" +
             std::string(core::to_string(s.lists[i].sig)) +
             "\",\"list\":" + json_quote(s.lists[i].list) + "}";
  }
  lists += "]";
  return "{\"name\":" + json_quote(s.name) + ",\"kind\":" + json_quote(s.kind) +
         ",\"harm_type\":\"" + std::string(core::to_string(s.harm)) +
         "\",\"reshare\":" + (s.reshare ? "true" : "false") +
         ",\"feedback\":" + (s.feedback ? "true" : "false") + ",\"lists\":" + lists +
         ",\"checkpoint\":" + json_quote(s.checkpoint) +
         ",\"entries\":" + std::to_string(s.entries) + ",\"added\":" + std::to_string(s.added) +
         ",\"updated\":" + std::to_string(s.updated) + ",\"deleted\":" + std::to_string(s.deleted) +
         ",\"pages\":" + std::to_string(s.pages) +
         ",\"refetching\":" + (s.refetching ? "true" : "false") +
         ",\"last_success_at\":" + json_quote(s.last_success_at) +
         ",\"last_failure_at\":" + json_quote(s.last_failure_at) +
         ",\"last_error\":" + json_quote(s.last_error) +
         ",\"consecutive_failures\":" + std::to_string(s.consecutive_failures) +
         ",\"lease_holder\":" + json_quote(s.lease_holder) + "}";
}

int exchanges_list(const std::vector<exchanges::exchange_config>& all, bool json) {
  for (const auto& c : all) {
    if (json) {
      std::string feeds = "[";
      for (std::size_t i = 0; i < c.feeds.size(); ++i) {
        feeds += std::string(i ? "," : "") + "{\"signal\":\"" +
                 std::string(core::to_string(c.feeds[i].sig)) +
                 "\",\"list\":" + json_quote(c.feeds[i].list) +
                 ",\"threshold\":" + std::to_string(c.feeds[i].threshold) + ",\"action\":\"" +
                 std::string(core::to_string(c.feeds[i].act)) + "\"}";
      }
      std::cout << "{\"name\":" << json_quote(c.name) << ",\"kind\":" << json_quote(c.kind)
                << ",\"url\":" << json_quote(c.url) << ",\"interval_s\":" << c.interval.count()
                << ",\"harm_type\":\"" << core::to_string(c.harm) << "\",\"feeds\":" << feeds
                << "],\"reshare\":" << (c.reshare ? "true" : "false")
                << ",\"feedback\":" << (c.feedback ? "true" : "false") << "}\n";
      continue;
    }
    std::cout << c.name << "\t" << c.kind << "\t" << core::to_string(c.harm)
              << "\tinterval=" << c.interval.count() << "s";
    for (const auto& f : c.feeds) {
      std::cout << "\t" << core::to_string(f.sig) << "->" << f.list;
    }
    std::cout << "\treshare=" << (c.reshare ? "on" : "off")
              << "\tfeedback=" << (c.feedback ? "on" : "off") << "\n";
  }
  return exit_ok;
}

int exchanges_status(db_session& db, bool json) {
  auto all = hashdb::exchange_store(db.conn()).list();
  if (!all) {
    print_error("exchanges status", "list", all.error(), db.conn().last_error());
    return exit_failure;
  }
  for (const auto& s : *all) {
    if (json) {
      std::cout << state_json(s) << "\n";
      continue;
    }
    std::cout << s.name << "\t" << s.kind << "\tentries=" << s.entries
              << "\tlast_success=" << (s.last_success_at.empty() ? "never" : s.last_success_at)
              << "\tfailures=" << s.consecutive_failures
              << (s.lease_holder.empty() ? "" : "\tsyncing on " + s.lease_holder)
              << (s.last_error.empty() ? "" : "\terror=" + s.last_error) << "\n";
  }
  return exit_ok;
}

int exchanges_sync(db_session& db, const exchanges::exchange_config& c, bool json) {
  std::string why;
  auto src = exchanges::make_source(c, &why);
  if (!src) {
    print_error("exchanges sync", c.name, src.error(), why);
    return exit_failure;
  }
  hashdb::exchange_store store(db.conn());
  if (auto r = store.register_exchange(exchanges::spec_of(c)); !r) {
    print_error("exchanges sync", "register " + c.name, r.error(), db.conn().last_error());
    return exit_failure;
  }
  exchanges::sync_options options;
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  options.holder = "cli/" + std::string(host.data()) + "/" + std::to_string(::getpid());
  exchanges::sync_driver driver(db.conn(), c.name, **src, options);
  auto report = driver.run();
  if (!report) {
    print_error("exchanges sync", c.name, report.error(), db.conn().last_error());
    return exit_failure;
  }
  const double seconds = std::chrono::duration<double>(report->elapsed).count();
  if (json) {
    std::cout << "{\"exchange\":" << json_quote(c.name)
              << ",\"lease_busy\":" << (report->lease_busy ? "true" : "false")
              << ",\"caught_up\":" << (report->caught_up ? "true" : "false")
              << ",\"pages\":" << report->pages << ",\"added\":" << report->added
              << ",\"updated\":" << report->updated << ",\"deleted\":" << report->deleted
              << ",\"unmatched\":" << report->unmatched << ",\"seconds\":" << seconds
              << ",\"error\":" << json_quote(report->reason) << "}\n";
  } else if (report->lease_busy) {
    std::cout << c.name << ": another node is syncing it now; nothing done\n";
  } else {
    std::cout << c.name << ": " << report->pages << " pages, " << report->added << " added, "
              << report->updated << " updated, " << report->deleted << " deleted ("
              << report->unmatched << " kept unmatched) in " << seconds << " s"
              << (report->caught_up ? ", caught up" : "") << "\n";
  }
  if (report->error) {
    std::cerr << "hashguard exchanges sync: " << c.name << " stopped: " << report->reason << "\n";
    return exit_failure;
  }
  return exit_ok;
}

}  // namespace

int run_exchanges(const std::vector<std::string>& args) {
  core::config config;
  auto rest = load_config(config, args);
  if (!rest) return exit_usage;
  const cli_options o = parse_options(*rest, {}, {"json", "help"});
  if (o.positional.empty() || o.has("help")) {
    std::cout << usage;
    return o.has("help") ? exit_ok : exit_usage;
  }
  if (!o.error.empty()) {
    std::cerr << "hashguard exchanges: " << o.error << "\n" << usage;
    return exit_usage;
  }
  const std::string verb = o.positional[0];
  if (verb != "list" && verb != "status" && verb != "sync") {
    std::cerr << "hashguard exchanges: unknown verb '" << verb << "'\n" << usage;
    return exit_usage;
  }
  if (verb == "sync" && o.positional.size() < 2) {
    std::cerr << "hashguard exchanges sync: an exchange NAME is required\n" << usage;
    return exit_usage;
  }
  exchanges::config_problem problem;
  auto all = exchanges::load_exchanges(config, exchanges::system_secrets(), &problem);
  if (!all) {
    std::cerr << "hashguard exchanges: exchanges.file: "
              << (problem.line > 0 ? "line " + std::to_string(problem.line) + ": " : "")
              << problem.message << "\n";
    return exit_usage;
  }
  if (verb == "list") return exchanges_list(*all, o.has("json"));
  const exchanges::exchange_config* chosen = nullptr;
  if (verb == "sync") {
    for (const auto& c : *all) {
      if (c.name == o.positional[1]) chosen = &c;
    }
    if (chosen == nullptr) {
      std::cerr << "hashguard exchanges sync: no exchange named '" << o.positional[1]
                << "' in the exchanges file\n";
      return exit_usage;
    }
  }
  auto db = db_session::open(config);
  if (!db) return exit_failure;
  if (verb == "status") return exchanges_status(*db, o.has("json"));
  return exchanges_sync(*db, *chosen, o.has("json"));
}

}  // namespace hashguard::app
