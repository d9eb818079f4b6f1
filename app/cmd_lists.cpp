// hashguard lists create|import|export|ls|enable|disable|set|retire: the hash lists.
#include "commands.hpp"
#include "db_common.hpp"

#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/lists.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace hashguard::app {
namespace {

constexpr const char* usage =
    "usage: hashguard lists VERB ...   (plus --database-url URL | --data-dir DIR)\n"
    "  ls [--all] [--json]                      the lists (--all: retired ones too)\n"
    "  create NAME --signal pdq|phash|md5|sha1|sha256 [--threshold N] [--action\n"
    "         block|report|review] [--source NCMEC|IWF|internal|...] [--no-dihedral] [--disabled]\n"
    "  import NAME FILE|- [--format hex|te-local|csv|hashguard] [--json] [--max-listed N]\n"
    "         line-level report; a hashguard-format file creates a missing list\n"
    "  export NAME [--format hex|te-local|csv|hashguard] [--output FILE]\n"
    "  enable NAME | disable NAME | retire NAME\n"
    "  set NAME [--threshold N] [--action A] [--source S] [--dihedral on|off]\n";

std::string list_json(const hashdb::hash_list& l) {
  return "{\"id\":" + std::to_string(l.id) + ",\"name\":" + json_quote(l.name) +
         ",\"source\":" + json_quote(l.source) + ",\"signal\":\"" +
         std::string(core::to_string(l.sig)) + "\",\"threshold\":" + std::to_string(l.threshold) +
         ",\"action\":\"" + std::string(core::to_string(l.act)) +
         "\",\"dihedral\":" + (l.dihedral ? "true" : "false") +
         ",\"enabled\":" + (l.enabled ? "true" : "false") +
         ",\"retired\":" + (l.retired ? "true" : "false") +
         ",\"version\":" + std::to_string(l.version) + ",\"entries\":" + std::to_string(l.entries) +
         ",\"created_at\":\"" + l.created_at + "\",\"updated_at\":\"" + l.updated_at + "\"}";
}

void print_list_line(const hashdb::hash_list& l) {
  std::cout << l.id << "\t" << l.name << "\t" << l.source << "\t" << core::to_string(l.sig)
            << "\tthreshold=" << l.threshold << "\taction=" << core::to_string(l.act)
            << "\tdihedral=" << (l.dihedral ? "on" : "off") << "\t"
            << (l.retired ? "retired" : (l.enabled ? "enabled" : "disabled"))
            << "\tentries=" << l.entries << "\tversion=" << l.version << "\n";
}

int fail(std::string_view verb, std::string_view what, const core::error_code& ec, db_session& db) {
  print_error(std::string("lists ") + std::string(verb), what, ec, db.conn().last_error());
  return exit_failure;
}

int lists_ls(db_session& db, const cli_options& o) {
  hashdb::list_store store(db.conn());
  auto all = store.list(o.has("all"));
  if (!all) return fail("ls", "list", all.error(), db);
  for (const auto& l : *all) {
    if (o.has("json")) {
      std::cout << list_json(l) << "\n";
    } else {
      print_list_line(l);
    }
  }
  return exit_ok;
}

int lists_create(db_session& db, const cli_options& o) {
  hashdb::list_spec spec;
  spec.name = o.positional[1];
  const auto sig = core::parse_signal(o.value("signal").value_or(""));
  if (!sig) {
    std::cerr << "hashguard lists create: --signal pdq|phash|md5|sha1|sha256|vpdq is required\n";
    return exit_usage;
  }
  spec.sig = *sig;
  spec.threshold = core::default_threshold(*sig);
  if (auto t = o.value("threshold")) {
    const auto v = core::parse_int<int>(*t);
    if (!v) {
      std::cerr << "hashguard lists create: --threshold takes an integer\n";
      return exit_usage;
    }
    spec.threshold = *v;
  }
  if (auto a = o.value("action")) {
    auto act = core::parse_action(*a);
    if (!act) {
      std::cerr << "hashguard lists create: --action block|report|review|none\n";
      return exit_usage;
    }
    spec.act = *act;
  }
  for (auto [key, slot] : {std::pair{"video-query-percent", &spec.video_query_percent},
                           std::pair{"video-compared-percent", &spec.video_compared_percent}}) {
    const auto v = o.value(key);
    if (!v) continue;
    char* end = nullptr;
    const double p = std::strtod(v->c_str(), &end);
    if (spec.sig != core::signal::vpdq || v->empty() || *end != '\0') {
      std::cerr << "hashguard lists create: --" << key << " takes a percentage (vpdq lists)\n";
      return exit_usage;
    }
    *slot = p;
  }
  spec.source = o.value("source").value_or("internal");
  spec.dihedral = !o.has("no-dihedral");
  spec.enabled = !o.has("disabled");
  hashdb::list_store store(db.conn());
  auto made = store.create(spec);
  if (!made) return fail("create", spec.name, made.error(), db);
  db.audit("list.create", "list:" + made->name, list_json(*made));
  print_list_line(*made);
  return exit_ok;
}

int lists_import(db_session& db, const cli_options& o) {
  if (o.positional.size() != 3) {
    std::cerr << usage;
    return exit_usage;
  }
  const std::string& name = o.positional[1];
  const std::string& file = o.positional[2];
  hashdb::import_options io;
  if (auto f = o.value("format")) {
    io.format = hashdb::parse_list_format(*f);
    if (!io.format) {
      std::cerr << "hashguard lists import: unknown format '" << *f << "'\n";
      return exit_usage;
    }
  }
  // A reference vPDQ file names no video: its file name does.
  io.video_name = o.value("video-name")
                      .value_or(file == "-" ? std::string("video")
                                            : std::filesystem::path(file).stem().string());
  if (auto m = o.value("max-listed")) {
    const auto n = core::parse_int<int>(*m);
    io.max_listed_lines = static_cast<std::size_t>(n ? *n : 1000);
  }
  const bool tty = ::isatty(2) != 0;
  io.progress_every = tty ? 50'000 : 1'000'000;
  io.progress = [tty](std::uint64_t lines, std::uint64_t bytes) {
    std::cerr << (tty ? "\r" : "") << "import: " << lines << " lines, " << bytes / (1 << 20)
              << " MiB read" << (tty ? "" : "\n") << std::flush;
  };
  std::ifstream in_file;
  if (file != "-") {
    in_file.open(file, std::ios::binary);
    if (!in_file) {
      std::cerr << "hashguard lists import: cannot read " << file << "\n";
      return exit_failure;
    }
  }
  std::istream& in = file == "-" ? std::cin : in_file;
  hashdb::list_store store(db.conn());
  auto r = store.import(name, in, io);
  if (tty) std::cerr << "\n";
  if (!r) return fail("import", name + " <- " + file, r.error(), db);
  const std::string summary =
      "{\"list\":" + json_quote(name) + ",\"file\":" + json_quote(file) + ",\"format\":\"" +
      std::string(hashdb::to_string(r->format)) + "\",\"lines\":" + std::to_string(r->lines) +
      ",\"accepted\":" + std::to_string(r->accepted) +
      ",\"duplicates\":" + std::to_string(r->duplicates) +
      ",\"rejected\":" + std::to_string(r->rejected) + ",\"version\":" + std::to_string(r->version);
  db.audit("list.import", "list:" + name, summary + "}");
  if (o.has("json")) {
    std::cout << summary << ",\"rejected_lines\":[";
    for (std::size_t i = 0; i < r->rejected_lines.size(); ++i) {
      std::cout << (i ? "," : "") << "{\"line\":" << r->rejected_lines[i].line
                << ",\"reason\":" << json_quote(r->rejected_lines[i].reason) << "}";
    }
    std::cout << "],\"duplicate_lines\":[";
    for (std::size_t i = 0; i < r->duplicate_lines.size(); ++i) {
      std::cout << (i ? "," : "") << r->duplicate_lines[i].line;
    }
    std::cout << "]}\n";
    return exit_ok;
  }
  std::cout << name << " <- " << file << " (" << hashdb::to_string(r->format) << "): " << r->lines
            << " lines, " << r->accepted << " accepted, " << r->duplicates << " duplicate, "
            << r->rejected << " rejected; list version " << r->version << "\n";
  for (const auto& l : r->rejected_lines) {
    std::cout << "  line " << l.line << ": rejected: " << l.reason << "\n";
  }
  for (const auto& l : r->duplicate_lines) std::cout << "  line " << l.line << ": duplicate\n";
  const auto listed = r->rejected_lines.size() + r->duplicate_lines.size();
  if (r->rejected + r->duplicates > listed) {
    std::cout << "  (" << (r->rejected + r->duplicates - listed)
              << " more lines not listed; --max-listed N)\n";
  }
  return exit_ok;
}

int lists_export(db_session& db, const cli_options& o) {
  auto format = hashdb::parse_list_format(o.value("format").value_or("hashguard"));
  if (!format) {
    std::cerr << "hashguard lists export: unknown format\n";
    return exit_usage;
  }
  std::ofstream out_file;
  const auto output = o.value("output");
  if (output) {
    out_file.open(*output, std::ios::binary | std::ios::trunc);
    if (!out_file) {
      std::cerr << "hashguard lists export: cannot write " << *output << "\n";
      return exit_failure;
    }
  }
  std::ostream& out = output ? out_file : std::cout;
  hashdb::list_store store(db.conn());
  auto n = store.export_to(o.positional[1], *format, out);
  if (!n) return fail("export", o.positional[1], n.error(), db);
  out.flush();
  db.audit("list.export", "list:" + o.positional[1],
           "{\"format\":\"" + std::string(hashdb::to_string(*format)) +
               "\",\"entries\":" + std::to_string(*n) + "}");
  if (output) std::cerr << "exported " << *n << " entries to " << *output << "\n";
  return exit_ok;
}

int lists_change(db_session& db, const cli_options& o, const std::string& verb) {
  hashdb::list_store store(db.conn());
  const std::string& name = o.positional[1];
  core::result<hashdb::hash_list> r = hashdb::errc::invalid_argument;
  if (verb == "retire") {
    r = store.retire(name);
  } else {
    hashdb::list_changes ch;
    if (verb == "enable") ch.enabled = true;
    if (verb == "disable") ch.enabled = false;
    if (verb == "set") {
      if (auto t = o.value("threshold")) {
        const auto v = core::parse_int<int>(*t);
        if (!v) {
          std::cerr << "hashguard lists set: --threshold takes an integer\n";
          return exit_usage;
        }
        ch.threshold = *v;
      }
      if (auto a = o.value("action")) {
        ch.act = core::parse_action(*a);
        if (!ch.act) {
          std::cerr << "hashguard lists set: --action block|report|review|none\n";
          return exit_usage;
        }
      }
      if (auto d = o.value("dihedral")) {
        if (*d != "on" && *d != "off") {
          std::cerr << "hashguard lists set: --dihedral on|off\n";
          return exit_usage;
        }
        ch.dihedral = *d == "on";
      }
      ch.source = o.value("source");
      if (!ch.threshold && !ch.act && !ch.dihedral && !ch.source) {
        std::cerr << "hashguard lists set: nothing to change\n" << usage;
        return exit_usage;
      }
    }
    r = store.update(name, ch);
  }
  if (!r) return fail(verb, name, r.error(), db);
  db.audit("list." + verb, "list:" + name, list_json(*r));
  print_list_line(*r);
  return exit_ok;
}

}  // namespace

int run_lists(const std::vector<std::string>& args) {
  core::config config;
  auto rest = load_config(config, args);
  if (!rest) return exit_usage;
  const cli_options o =
      parse_options(*rest,
                    {"signal", "threshold", "action", "source", "format", "output", "dihedral",
                     "max-listed", "video-name", "video-query-percent", "video-compared-percent"},
                    {"all", "json", "no-dihedral", "disabled", "help"});
  if (o.positional.empty() || o.has("help")) {
    std::cout << usage;
    return o.has("help") ? exit_ok : exit_usage;
  }
  if (!o.error.empty()) {
    std::cerr << "hashguard lists: " << o.error << "\n" << usage;
    return exit_usage;
  }
  const std::string verb = o.positional[0];
  static const std::set<std::string> named{"create",  "import", "export", "enable",
                                           "disable", "set",    "retire"};
  if (verb != "ls" && !named.contains(verb)) {
    std::cerr << "hashguard lists: unknown verb '" << verb << "'\n" << usage;
    return exit_usage;
  }
  if (named.contains(verb) && o.positional.size() < 2) {
    std::cerr << "hashguard lists " << verb << ": a list NAME is required\n" << usage;
    return exit_usage;
  }
  auto db = db_session::open(config);
  if (!db) return exit_failure;
  if (verb == "ls") return lists_ls(*db, o);
  if (verb == "create") return lists_create(*db, o);
  if (verb == "import") return lists_import(*db, o);
  if (verb == "export") return lists_export(*db, o);
  return lists_change(*db, o, verb);
}

}  // namespace hashguard::app
