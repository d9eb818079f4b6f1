// hashguard keys create|ls|revoke: API keys (stored as SHA-256 only).
#include "commands.hpp"
#include "db_common.hpp"

#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/keys.hpp"

#include <iostream>

namespace hashguard::app {
namespace {

constexpr const char* usage =
    "usage: hashguard keys VERB ...   (plus --database-url URL | --data-dir DIR)\n"
    "  create NAME --role ingest|reviewer|compliance|admin [--capability match_details]\n"
    "         prints the key once; match_details: ingest answers show each hit's entry,\n"
    "         distance and detail (without it: list name, signal, action only)\n"
    "  create NAME --role exchange --lists LIST[,LIST]\n"
    "         a key another hashguard follows these lists with (GET /v1/lists/{id}/changes)\n"
    "  ls [--json]\n"
    "  revoke ID\n";

/// ["match_details",...]: the granted capabilities as a JSON array.
std::string capabilities_json(core::capability_set caps) {
  std::string out = "[";
  for (const auto name : core::names_of(caps)) {
    if (out.size() > 1) out += ",";
    out += json_quote(name);
  }
  return out + "]";
}

/// ["list-a",...]: an exchange key's lists as a JSON array.
std::string lists_json(const std::vector<std::string>& lists) {
  std::string out = "[";
  for (const auto& name : lists) {
    if (out.size() > 1) out += ",";
    out += json_quote(name);
  }
  return out + "]";
}

}  // namespace

int run_keys(const std::vector<std::string>& args) {
  core::config config;
  auto rest = load_config(config, args);
  if (!rest) return exit_usage;
  const cli_options o = parse_options(*rest, {"role", "capability", "lists"}, {"json", "help"});
  if (o.positional.empty() || o.has("help")) {
    std::cout << usage;
    return o.has("help") ? exit_ok : exit_usage;
  }
  if (!o.error.empty()) {
    std::cerr << "hashguard keys: " << o.error << "\n" << usage;
    return exit_usage;
  }
  const std::string verb = o.positional[0];
  if (verb != "create" && verb != "ls" && verb != "revoke") {
    std::cerr << "hashguard keys: unknown verb '" << verb << "'\n" << usage;
    return exit_usage;
  }
  std::optional<core::role> role;
  core::capability_set capabilities;
  std::vector<std::string> lists;
  std::int64_t id = 0;
  if (verb == "create") {
    role = core::parse_role(o.value("role").value_or(""));
    if (o.positional.size() != 2 || !role) {
      std::cerr << "hashguard keys create: NAME and --role "
                   "ingest|reviewer|compliance|admin|exchange\n";
      return exit_usage;
    }
    // --lists a[,b]: the lists an exchange key may follow (required for it, only for it).
    const std::string list_text = o.value("lists").value_or("");
    for (std::string_view rest_lists = list_text; !rest_lists.empty();) {
      const auto comma = rest_lists.find(',');
      if (comma != 0) lists.emplace_back(rest_lists.substr(0, comma));
      rest_lists =
          comma == std::string_view::npos ? std::string_view{} : rest_lists.substr(comma + 1);
    }
    if ((*role == core::role::exchange) != !lists.empty()) {
      std::cerr << "hashguard keys create: --lists NAME[,NAME] is required for --role exchange, "
                   "and only for it\n";
      return exit_usage;
    }
    // --capability a[,b]: each must be a known capability name.
    // value() returns a temporary: keep the text alive while the view walks it.
    const std::string capability_text = o.value("capability").value_or("");
    std::string_view names = capability_text;
    while (!names.empty()) {
      const auto comma = names.find(',');
      const auto cap = core::parse_capability(names.substr(0, comma));
      if (!cap) {
        std::cerr << "hashguard keys create: unknown capability '" << names.substr(0, comma)
                  << "' (known: match_details)\n";
        return exit_usage;
      }
      capabilities.add(*cap);
      names = comma == std::string_view::npos ? std::string_view{} : names.substr(comma + 1);
    }
  }
  if (verb == "revoke") {
    const std::string& text = o.positional.size() == 2 ? o.positional[1] : std::string();
    const auto parsed = core::parse_int<std::int64_t>(text);
    if (!parsed) {
      std::cerr << "hashguard keys revoke: a numeric key ID is required\n";
      return exit_usage;
    }
    id = *parsed;
  }
  auto db = db_session::open(config);
  if (!db) return exit_failure;
  hashdb::key_store keys(db->conn());
  if (verb == "create") {
    auto made = keys.create(o.positional[1], *role, capabilities, lists);
    if (!made) {
      print_error("keys create", o.positional[1], made.error(), db->conn().last_error());
      return exit_failure;
    }
    db->audit("key.create", "key:" + std::to_string(made->info.id),
              "{\"name\":" + json_quote(made->info.name) + ",\"role\":\"" +
                  std::string(core::to_string(made->info.role)) +
                  "\",\"capabilities\":" + capabilities_json(made->info.capabilities) +
                  ",\"lists\":" + lists_json(made->info.lists) + "}");
    std::cerr << "key " << made->info.id << " (" << made->info.name << ", role "
              << core::to_string(made->info.role) << ") created; it is shown once, store it now:\n";
    std::cout << made->secret << "\n";
    return exit_ok;
  }
  if (verb == "revoke") {
    auto r = keys.revoke(id);
    if (!r) {
      print_error("keys revoke", std::to_string(id), r.error(), db->conn().last_error());
      return exit_failure;
    }
    db->audit("key.revoke", "key:" + std::to_string(id), "{}");
    std::cout << "key " << id << " (" << r->name << ") revoked at " << r->revoked_at.value_or("")
              << "\n";
    return exit_ok;
  }
  auto all = keys.list();
  if (!all) {
    print_error("keys ls", "list", all.error(), db->conn().last_error());
    return exit_failure;
  }
  for (const auto& k : *all) {
    if (o.has("json")) {
      std::cout << "{\"id\":" << k.id << ",\"name\":" << json_quote(k.name) << ",\"role\":\""
                << core::to_string(k.role) << "\",\"prefix\":\"" << k.prefix
                << "\",\"capabilities\":" << capabilities_json(k.capabilities)
                << ",\"lists\":" << lists_json(k.lists) << ",\"created_at\":\"" << k.created_at
                << "\",\"revoked_at\":"
                << (k.revoked_at ? "\"" + *k.revoked_at + "\"" : std::string("null")) << "}\n";
    } else {
      std::cout << k.id << "\t" << k.name << "\t" << core::to_string(k.role) << "\t" << k.prefix
                << "...\t" << k.created_at << "\t"
                << (k.revoked_at ? "revoked " + *k.revoked_at : std::string("active")) << "\n";
    }
  }
  return exit_ok;
}

}  // namespace hashguard::app
